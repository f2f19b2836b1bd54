-- Trunks name the port their carrier sends from (UDP; 0 accepts any) and
-- may require the carrier to answer a digest challenge with the trunk's
-- username and password. Existing trunks get 5060, the port carriers send
-- from unless told otherwise: a carrier on another port must be set
-- explicitly, rather than every port of a trusted address being open.
ALTER TABLE trunks ADD COLUMN port INTEGER NOT NULL DEFAULT 5060;
ALTER TABLE trunks ADD COLUMN inbound_auth INTEGER NOT NULL DEFAULT 0;
