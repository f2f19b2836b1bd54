-- Routes: what happens to calls TO an account.
CREATE TABLE routes (
    id              INTEGER PRIMARY KEY,
    guid            TEXT    NOT NULL UNIQUE,
    account         TEXT    NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    "order"         INTEGER NOT NULL,
    destination     TEXT    NOT NULL DEFAULT '',
    username        TEXT    NOT NULL DEFAULT '',
    hunt_user       INTEGER NOT NULL DEFAULT 0,
    ring_seconds    INTEGER NOT NULL DEFAULT 0,
    menu_level      INTEGER NOT NULL DEFAULT 0,
    time_definition TEXT    NOT NULL DEFAULT '',
    digit_map       TEXT    NOT NULL DEFAULT '',
    promptguid      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX routes_account ON routes(account, id);
CREATE INDEX routes_username ON routes(username) WHERE username <> '';
CREATE INDEX routes_prompt ON routes(promptguid) WHERE promptguid <> '';

-- Callrules: rules on calls made BY an account and its descendants.
CREATE TABLE callrules (
    id           INTEGER PRIMARY KEY,
    guid         TEXT    NOT NULL UNIQUE,
    account      TEXT    NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    "order"      INTEGER NOT NULL,
    prefix       TEXT    NOT NULL DEFAULT '',
    prefix_raw   TEXT    NOT NULL DEFAULT '',
    location     TEXT    NOT NULL DEFAULT '',
    username     TEXT    NOT NULL DEFAULT '',
    destination  TEXT    NOT NULL DEFAULT '',
    early_rule   INTEGER NOT NULL DEFAULT 0,
    record_email TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX callrules_account ON callrules(account, id);

-- Forks: destinations rung at once (blast groups).
CREATE TABLE forks (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    account     TEXT NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    destination TEXT NOT NULL
);
CREATE INDEX forks_account ON forks(account, id);

-- Prompts: audio is kept in the database (so that every node of a cluster
-- can play it): the original upload and the 8 kHz mono PCM WAV that the
-- media service plays.
CREATE TABLE prompts (
    id            INTEGER PRIMARY KEY,
    guid          TEXT    NOT NULL UNIQUE,
    account       TEXT    NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    description   TEXT    NOT NULL DEFAULT '',
    prompt_length INTEGER NOT NULL DEFAULT 0,
    group_access  TEXT    NOT NULL UNIQUE,
    audio         BLOB,
    original      BLOB
);
CREATE INDEX prompts_account ON prompts(account, id);

CREATE TABLE locations (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    prefixes    TEXT NOT NULL DEFAULT '',
    exclude     TEXT NOT NULL DEFAULT ''
);

CREATE TABLE timedefinitions (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT '',
    dates       TEXT NOT NULL DEFAULT '',
    definition  TEXT NOT NULL DEFAULT ''
);

-- SIP registration bindings; filled by the registrar.
CREATE TABLE registrations (
    id            INTEGER PRIMARY KEY,
    guid          TEXT NOT NULL UNIQUE,
    account       TEXT NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    contact       TEXT NOT NULL,
    expires       TEXT NOT NULL,
    user_agent    TEXT NOT NULL DEFAULT '',
    source        TEXT NOT NULL DEFAULT '',
    registered_at TEXT NOT NULL
);
CREATE INDEX registrations_account ON registrations(account, id);
