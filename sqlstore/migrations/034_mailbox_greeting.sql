-- An account's own voicemail greeting, recorded by phone from its mailbox
-- (8 kHz 16-bit mono WAV): the voicemail app plays it instead of the
-- system greeting. It goes with its account, and with its mailbox when
-- ums_pin is emptied.
CREATE TABLE mailbox_greetings (
    id          INTEGER PRIMARY KEY,
    account     TEXT    NOT NULL UNIQUE REFERENCES accounts(guid) ON DELETE CASCADE,
    length_ms   BIGINT  NOT NULL DEFAULT 0,
    audio       BLOB    NOT NULL
);
