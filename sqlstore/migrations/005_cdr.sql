-- Call detail records: one row per call and side (direction out for the
-- caller's account, in for the account the call was delivered to). Times
-- are RFC 3339 UTC text, so that they sort and compare as text.
CREATE TABLE cdrs (
    id          INTEGER PRIMARY KEY,
    guid        TEXT    NOT NULL UNIQUE,
    account     TEXT    NOT NULL, -- no foreign key: billing records outlive the account
    direction   TEXT    NOT NULL,
    "from"      TEXT    NOT NULL DEFAULT '',
    "to"        TEXT    NOT NULL DEFAULT '',
    started     TEXT    NOT NULL,
    answered    TEXT    NOT NULL DEFAULT '',
    ended       TEXT    NOT NULL DEFAULT '',
    duration    INTEGER NOT NULL DEFAULT 0,
    outcome     TEXT    NOT NULL DEFAULT '',
    answered_by TEXT    NOT NULL DEFAULT '',
    code        INTEGER NOT NULL DEFAULT 0,
    call_id     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX cdrs_account_started ON cdrs(account, started);
