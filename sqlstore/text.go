package sqlstore

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
)

// Identifiers and filters that no record can hold. PostgreSQL's text is
// UTF-8 without NUL: a parameter with a NUL byte or invalid UTF-8 is an
// error there (SQLSTATE 22021), not "no row", which the callers would
// answer as the store failing (500, or 503 at a login). SQLite would just
// find nothing. So the lookups (getRow, ownerAccount, Credentials, …)
// answer such a name "not found", and List refuses such a filter as
// invalid, before querying, alike on both backends; badText maps the
// error of any value that still reaches PostgreSQL to a client error.

// storable reports whether s can be a stored text value: valid UTF-8 with
// no NUL byte.
func storable(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// storableArgs reports whether every string among a query's arguments is
// storable.
func storableArgs(args []any) bool {
	for _, a := range args {
		if s, ok := a.(string); ok && !storable(s) {
			return false
		}
	}
	return true
}

// errBadText is the client error of a text value no record can hold.
var errBadText = invalid("text must be valid UTF-8 without NUL characters")

// badText reports whether err is PostgreSQL refusing a text value for its
// encoding: character_not_in_repertoire (a NUL byte or invalid UTF-8) or
// untranslatable_character.
func badText(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05")
}
