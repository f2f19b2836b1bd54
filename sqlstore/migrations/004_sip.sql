-- SIP registrar. A binding is one (account, contact) pair that a REGISTER
-- refreshes in place, so that its GUID (and the API's /reg/{guid}) stays
-- stable; the sweep deletes expired bindings through the expires index.
-- expires and registered_at are RFC 3339 UTC with whole seconds, so that
-- comparing the strings compares the times.
CREATE UNIQUE INDEX registrations_contact ON registrations(account, contact);
CREATE INDEX registrations_expires ON registrations(expires);

-- Digest HA1 for the local part alone as the digest username
-- (H(reception:acmebrick.x.co.nz:password) for reception@acmebrick.x.co.nz),
-- for phones that send only the user part; filled where the password is set
-- (see digestColumns), empty until then.
ALTER TABLE accounts ADD COLUMN ha1_local_md5 TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN ha1_local_sha256 TEXT NOT NULL DEFAULT '';
