-- The audit trail of API writes. path is the materialised path of the
-- account whose record changed ('' for system-wide resources), so that
-- a listing is partitioned like everything else; at is Unix milliseconds.
CREATE TABLE audit (
    id        INTEGER PRIMARY KEY,
    guid      TEXT    NOT NULL UNIQUE,
    at        BIGINT  NOT NULL,
    actor     TEXT    NOT NULL DEFAULT '',
    source    TEXT    NOT NULL DEFAULT '',
    method    TEXT    NOT NULL DEFAULT '',
    uri       TEXT    NOT NULL DEFAULT '',
    resource  TEXT    NOT NULL DEFAULT '',
    record    TEXT    NOT NULL DEFAULT '',
    path      TEXT    NOT NULL DEFAULT '',
    old_json  TEXT    NOT NULL DEFAULT '',
    new_json  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_path ON audit(path, id);
CREATE INDEX audit_at ON audit(at);
