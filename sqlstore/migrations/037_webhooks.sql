-- Webhooks: an account's subscriptions to events, and the durable outbox
-- of their deliveries, written in the transaction of the change. Times
-- are Unix milliseconds, as in the mail outbox (030).
CREATE TABLE webhooks (
    id           INTEGER PRIMARY KEY,
    guid         TEXT    NOT NULL UNIQUE,
    account      TEXT    NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    url          TEXT    NOT NULL DEFAULT '',
    events       TEXT    NOT NULL DEFAULT '*',
    secret       TEXT    NOT NULL DEFAULT '',
    enabled      INTEGER NOT NULL DEFAULT 1,
    description  TEXT    NOT NULL DEFAULT '',
    last_success TEXT    NOT NULL DEFAULT '',
    last_error   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX webhooks_account ON webhooks(account);

-- One row per event and webhook. queue is the account the event is
-- about: a webhook's rows of one queue go out in id order, the next only
-- once the one before is delivered or given up (see ClaimWebhooks).
CREATE TABLE webhook_outbox (
    id            INTEGER PRIMARY KEY,
    event         TEXT    NOT NULL,
    webhook       TEXT    NOT NULL REFERENCES webhooks(guid) ON DELETE CASCADE,
    queue         TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    state         TEXT    NOT NULL DEFAULT 'queued',
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT    NOT NULL DEFAULT '',
    created       BIGINT  NOT NULL,
    next_try      BIGINT  NOT NULL,
    claimed_by    TEXT    NOT NULL DEFAULT '',
    claimed_until BIGINT  NOT NULL DEFAULT 0,
    done_at       BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX webhook_outbox_due ON webhook_outbox(state, next_try);
CREATE INDEX webhook_outbox_queue ON webhook_outbox(state, webhook, queue, id);
CREATE INDEX webhook_outbox_done ON webhook_outbox(done_at);
