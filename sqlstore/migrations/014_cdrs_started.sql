-- The CDR retention purge deletes by start time across all accounts;
-- cdrs(account, started) serves only one account's range.
CREATE INDEX cdrs_started ON cdrs(started);
