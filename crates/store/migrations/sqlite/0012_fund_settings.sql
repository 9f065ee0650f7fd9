-- The county's behind-schedule rule for projects (issue 7, 进度滞后): by a date, at least
-- a share of each project's budget disbursed. One row; NULLs while none is set. Set by
-- headquarters on the funds figures page, audited (set_schedule_rule); read by the
-- figures page and the six-in-place panel. Dates are 'YYYY-MM-DD' text.
CREATE TABLE fund_settings (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    behind_by     TEXT,
    behind_min_bp BIGINT CHECK (behind_min_bp BETWEEN 0 AND 10000),
    CHECK ((behind_by IS NULL) = (behind_min_bp IS NULL))
);
INSERT INTO fund_settings (id, behind_by, behind_min_bp) VALUES (1, NULL, NULL);
