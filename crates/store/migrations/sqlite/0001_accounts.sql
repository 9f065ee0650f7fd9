-- Accounts, sessions and login throttling. Several `fupin serve` processes share one
-- database, so everything that decides who a request belongs to lives here.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    -- argon2id, PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('hq_admin', 'county_leader', 'unit_staff',
                                                'township_staff', 'village_staff', 'inspector')),
    -- Area scope of township and village staff; unit of unit staff.
    township      TEXT,
    village       TEXT,
    unit          TEXT,
    created_at    TEXT NOT NULL,
    CHECK (CASE role
        WHEN 'township_staff' THEN township IS NOT NULL AND village IS NULL AND unit IS NULL
        WHEN 'village_staff' THEN township IS NOT NULL AND village IS NOT NULL AND unit IS NULL
        WHEN 'unit_staff' THEN unit IS NOT NULL AND township IS NULL AND village IS NULL
        ELSE township IS NULL AND village IS NULL AND unit IS NULL
    END)
);

-- A session is found by the SHA-256 of its token: the token itself is never stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    csrf_token TEXT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

-- Failed logins, counted per username over a time window to throttle guessing.
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX login_failures_by_user ON login_failures (username, at);
