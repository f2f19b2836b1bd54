-- Calls in progress, per account, for concurrent_limit across the nodes
-- that share a database. A row carries its own expiry (the longest a call
-- may last), so a node that dies without hanging up cannot hold an
-- account's limit for ever.
CREATE TABLE active_calls (
    call_id TEXT   NOT NULL,
    account TEXT   NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (call_id, account)
);
CREATE INDEX active_calls_account ON active_calls(account, expires);
