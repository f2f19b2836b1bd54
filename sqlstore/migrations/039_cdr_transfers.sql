-- Who passed the call on, to whom and when (transfers, parks and
-- retrievals), oldest first.
ALTER TABLE cdrs ADD COLUMN transfers TEXT NOT NULL DEFAULT '';
