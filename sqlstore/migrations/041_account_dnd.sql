-- Do-not-disturb (issue 17): an account whose phones do not ring, set
-- through the API or by phone (*78 on, *79 off).
ALTER TABLE accounts ADD COLUMN dnd INTEGER NOT NULL DEFAULT 0;
