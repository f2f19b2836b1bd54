-- Whether a callrule was created or last changed with system-level API
-- access: such a rule is the provider's (a block on a company's account)
-- and is read-only below system level. Existing drop: rules and rules
-- naming the Emergency location are taken as the provider's: a block the
-- provider set before this column existed must not become a company's to
-- delete (a company's own old block is then the provider's to remove).
ALTER TABLE callrules ADD COLUMN provider_set INTEGER NOT NULL DEFAULT 0;
UPDATE callrules SET provider_set = 1 WHERE destination LIKE 'drop:%' OR location = '<CallRule-Emergency>';
