-- Voicemail messages kept in an account's mailbox (an account with
-- ums_pin), and the durable mail outbox. Times are Unix milliseconds, so
-- that claims and retries compare numbers on both engines and back-off
-- below a second (tests) is not rounded away.
CREATE TABLE voicemails (
    id          INTEGER PRIMARY KEY,
    guid        TEXT    NOT NULL UNIQUE,
    account     TEXT    NOT NULL REFERENCES accounts(guid) ON DELETE CASCADE,
    caller      TEXT    NOT NULL DEFAULT '',
    called      TEXT    NOT NULL DEFAULT '',
    received    BIGINT  NOT NULL,
    duration_ms BIGINT  NOT NULL DEFAULT 0,
    status      TEXT    NOT NULL DEFAULT 'new',
    audio       BLOB
);
CREATE INDEX voicemails_account ON voicemails(account, received);

-- A mail is claimed by a node for a lease (claimed_by, claimed_until);
-- it is due when queued, next_try has come and no lease holds it.
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY,
    guid            TEXT    NOT NULL UNIQUE,
    rcpt            TEXT    NOT NULL,
    subject         TEXT    NOT NULL DEFAULT '',
    body            TEXT    NOT NULL DEFAULT '',
    attachment      BLOB,
    attachment_name TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'queued',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    created         BIGINT  NOT NULL,
    next_try        BIGINT  NOT NULL,
    claimed_by      TEXT    NOT NULL DEFAULT '',
    claimed_until   BIGINT  NOT NULL DEFAULT 0,
    sent_at         BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX mail_outbox_due ON mail_outbox(state, next_try);
CREATE INDEX mail_outbox_created ON mail_outbox(created);
