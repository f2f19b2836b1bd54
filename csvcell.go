package xc5

import "strings"

// CSVCell makes a CSV cell inert for spreadsheets (OWASP "CSV
// injection"): a cell starting with = + - @, a tab or a carriage return
// would be read as a formula, so it gets a leading '. A plain number
// (digits, with an optional leading + or -, as in +6491234567) is left
// as it is: a spreadsheet reads it as a number, never a formula, and
// telephone numbers are what CDRs are full of. Every CSV the product
// writes (the API's, the portal's) passes its string cells through this.
func CSVCell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber(s) {
		return s
	}
	return "'" + s
}

// plainNumber reports whether s is digits after an optional sign.
func plainNumber(s string) bool {
	if s[0] == '+' || s[0] == '-' {
		s = s[1:]
	}
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
