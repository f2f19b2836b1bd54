-- The prompt an account's held and parked callers hear instead of the
-- system hold music (inherited; empty for the system's).
ALTER TABLE accounts ADD COLUMN hold_prompt TEXT NOT NULL DEFAULT '';
