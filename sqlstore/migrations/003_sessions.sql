-- API sessions (cookie JWTs): a token is valid only while its row exists,
-- so that DELETE /api-sys/session ends it at once on every node.
CREATE TABLE sessions (
    jti     TEXT    PRIMARY KEY,
    account TEXT    NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    expires BIGINT  NOT NULL
);
CREATE INDEX sessions_expires ON sessions(expires);
