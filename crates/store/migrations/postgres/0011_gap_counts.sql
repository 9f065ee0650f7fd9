-- Gap counts by kind, lead unit, route and state: the dashboard and the six-in-place panel
-- read these few rows instead of scanning every gap (163,169 open gaps at 10^6
-- households). Rebuilt by every gap refresh, in its transaction — the only writer of gaps.
CREATE TABLE gap_counts (
    kind       TEXT NOT NULL,
    lead_unit  TEXT,
    unrouted   BOOLEAN NOT NULL,
    open       BOOLEAN NOT NULL,
    n          BIGINT NOT NULL
);
INSERT INTO gap_counts (kind, lead_unit, unrouted, open, n)
SELECT kind, lead_unit, task_no IS NULL, open, COUNT(*)
FROM gaps GROUP BY kind, lead_unit, task_no IS NULL, open;
