-- Carrier trunks. The password is the carrier's digest secret, which xc5
-- must send, so it is kept as given (the API never returns it).
CREATE TABLE trunks (
    id        INTEGER PRIMARY KEY,
    guid      TEXT    NOT NULL UNIQUE,
    name      TEXT    NOT NULL UNIQUE,
    address   TEXT    NOT NULL DEFAULT '',
    proxy     TEXT    NOT NULL DEFAULT '',
    transport TEXT    NOT NULL DEFAULT 'udp',
    username  TEXT    NOT NULL DEFAULT '',
    password  TEXT    NOT NULL DEFAULT '',
    enabled   INTEGER NOT NULL DEFAULT 1,
    priority  INTEGER NOT NULL DEFAULT 0
);
