-- Installation-wide settings, such as the key that signs session cookies
-- and SIP nonces: kept in the database so that every node shares it.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
