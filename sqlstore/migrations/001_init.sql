-- Accounts form a tree; path is the materialised path of GUIDs ("/A/B/")
-- so that partition checks and subtree listings are one indexed range scan.
CREATE TABLE accounts (
    id               INTEGER PRIMARY KEY,
    guid             TEXT    NOT NULL UNIQUE,
    username         TEXT    NOT NULL UNIQUE,
    parent           TEXT    REFERENCES accounts(guid),
    path             TEXT    NOT NULL,
    password_hash    TEXT    NOT NULL DEFAULT '',
    ha1_md5          TEXT    NOT NULL DEFAULT '',
    ha1_sha256       TEXT    NOT NULL DEFAULT '',
    enabled          INTEGER NOT NULL DEFAULT 1,
    cfna_duration    INTEGER NOT NULL DEFAULT 20,
    cfna_dest        TEXT    NOT NULL DEFAULT '',
    cfna_active      INTEGER NOT NULL DEFAULT 0,
    pickup_group     TEXT    NOT NULL DEFAULT '',
    ums_pin          TEXT    NOT NULL DEFAULT '',
    concurrent_limit INTEGER NOT NULL DEFAULT 0,
    private          INTEGER NOT NULL DEFAULT 0,
    callerid         INTEGER NOT NULL DEFAULT 1,
    timezone         TEXT    NOT NULL DEFAULT '',
    country_code     TEXT    NOT NULL DEFAULT '',
    area_code        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX accounts_parent ON accounts(parent, id);
CREATE INDEX accounts_path ON accounts(path);

CREATE TABLE account_resources (
    id      INTEGER PRIMARY KEY,
    guid    TEXT NOT NULL UNIQUE,
    account TEXT NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    name    TEXT NOT NULL,
    value   TEXT NOT NULL DEFAULT '',
    UNIQUE (account, name)
);

-- Numbers are unique system-wide unless prefixed "a:" (outgoing rewrite).
-- from_pool remembers that a number was allocated from _unassigned.pool,
-- so that deleting it returns it there instead of losing it.
CREATE TABLE numbers (
    id           INTEGER PRIMARY KEY,
    guid         TEXT    NOT NULL UNIQUE,
    account      TEXT    NOT NULL REFERENCES accounts(guid),
    number       TEXT    NOT NULL,
    is_pilot     INTEGER NOT NULL DEFAULT 0,
    cfa          TEXT    NOT NULL DEFAULT '',
    alert_info   TEXT    NOT NULL DEFAULT '',
    account_code TEXT    NOT NULL DEFAULT '',
    from_pool    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX numbers_unique ON numbers(number) WHERE number NOT LIKE 'a:%';
CREATE INDEX numbers_account ON numbers(account, id);
