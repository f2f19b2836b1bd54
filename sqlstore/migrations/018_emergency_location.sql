-- The shipped <CallRule-Emergency> location held 111 and 64111. Emergency
-- numbers are short codes matched whole (routing/emergency.go), and 112 is
-- an emergency number too: an installation that still has the shipped
-- value gets the new one; a location the provider edited is left alone.
UPDATE locations
   SET prefixes = '111,112',
       description = 'Emergency services (111, and 112 which mobile phones and NZ networks also treat as emergency): always reachable, only a callrule naming this location applies to them'
 WHERE name = '<CallRule-Emergency>' AND prefixes = '111,64111';
