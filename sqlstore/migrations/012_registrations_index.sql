-- registrations(account, id) duplicated the unique (account, contact)
-- index of migration 004 for lookups by account (ContactsOf, the API's
-- /reg list, ON DELETE CASCADE): both lead with account, and an account
-- has at most a few bindings to sort by id. Each new binding wrote one
-- more random index page to the WAL; at thousands of REGISTERs a second
-- that was a third of what the registrar wrote.
DROP INDEX IF EXISTS registrations_account;
