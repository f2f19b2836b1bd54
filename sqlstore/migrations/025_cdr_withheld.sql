-- Whether the caller withheld its number (Privacy: id, or anonymous):
-- the record keeps the real number for the provider (billing, lawful
-- requests), and below system-level API access `from` reads anonymous.
ALTER TABLE cdrs ADD COLUMN withheld INTEGER NOT NULL DEFAULT 0;
