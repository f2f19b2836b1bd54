package xc5

import "testing"

// TestCSVCell: formula-like cells get a leading ', telephone numbers and
// ordinary text stay as they are.
func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"alice@acme.test":    "alice@acme.test",
		"+6491234567":        "+6491234567",
		"6491234567":         "6491234567",
		"-5":                 "-5",
		"=1+2":               "'=1+2",
		"+1+cmd|' /C calc'!": "'+1+cmd|' /C calc'!",
		"-2+3":               "'-2+3",
		"@SUM(1+1)":          "'@SUM(1+1)",
		"\t=1+1":             "'\t=1+1",
		"\r=1":               "'\r=1",
		"+":                  "'+",
		"+64 9 123":          "'+64 9 123",
	} {
		if got := CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}
