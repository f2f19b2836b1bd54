-- Whether the call was recorded (the answering account's record_email
-- callrules): the recording itself goes by mail.
ALTER TABLE cdrs ADD COLUMN recorded INTEGER NOT NULL DEFAULT 0;
