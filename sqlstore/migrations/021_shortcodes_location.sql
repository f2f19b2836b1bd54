-- Short codes leave over a carrier only when listed whole in
-- <CallRule-ShortCodes> (or emergency ones in <CallRule-Emergency>):
-- installations bootstrapped before it get the shipped location, with the
-- values of resource.ShortCodesShipped and ShortCodesDescription. A fresh
-- database has no locations yet (they are inserted at bootstrap), so
-- nothing is inserted there; nor where the name is already taken.
INSERT INTO locations (guid, name, description, prefixes, exclude)
SELECT '5E0A7C1D-21C0-4D3E-9A57-0B1E5C0DE021', '<CallRule-ShortCodes>',
       'Short codes other than emergency numbers that may leave over a carrier, listed whole (105 police non-emergency, 1737 mental health support); any other 1xx or 1xxx is refused',
       '105,1737', ''
 WHERE EXISTS (SELECT 1 FROM locations WHERE name = '<CallRule-Emergency>')
   AND NOT EXISTS (SELECT 1 FROM locations WHERE name = '<CallRule-ShortCodes>');
