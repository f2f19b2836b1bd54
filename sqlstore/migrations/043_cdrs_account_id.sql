-- One account's CDRs are listed in creation order a page at a time
-- (the API's cursor, the company portal's Calls page): with (account, id)
-- a page reads its rows in order instead of sorting all of the
-- account's records first.
CREATE INDEX cdrs_account_id ON cdrs(account, id);
