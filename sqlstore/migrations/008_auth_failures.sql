-- Failed API logins per key (source address or username) and minute, so
-- that the rate limit holds across the nodes sharing a database.
CREATE TABLE auth_failures (
    key    TEXT    NOT NULL,
    minute BIGINT  NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (key, minute)
);
