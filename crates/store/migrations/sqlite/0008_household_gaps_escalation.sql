-- A household's gaps (the household page and API list them with their work items).
CREATE INDEX gaps_by_household ON gaps (household_no);

-- Items the scheduled escalation looks for: still with the unit, not yet escalated for
-- their deadline, by deadline.
CREATE INDEX work_items_due ON work_items (deadline)
    WHERE state IN ('todo', 'in_progress') AND escalated_at IS NULL;
