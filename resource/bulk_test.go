package resource_test

import (
	"errors"
	"strings"
	"testing"

	"xc5"
	"xc5/resource"
)

func TestParseBulkCSV(t *testing.T) {
	users, err := resource.ParseBulkCSV(strings.NewReader("\ufeffDDI, Username\r\n6491231234,reception\r\n\r\n\"6499290089\",\"sales, x\"\r\n"))
	if err != nil || len(users) != 2 || users[0] != (resource.BulkUser{Line: 2, Username: "reception", DDI: "6491231234"}) ||
		users[1].Line != 4 || users[1].Username != "sales, x" {
		t.Fatalf("got %+v, %v", users, err)
	}
	for _, c := range []struct {
		name, csv string
		want      []string
	}{
		{"empty", "", []string{"line 1: the CSV is empty"}},
		{"no username column", "ddi\n649\n", []string{"line 1: the header has no username column"}},
		{"unknown and repeated columns", "username,phone,ddi,ddi\n", []string{`unknown column "phone"`, `column "ddi" appears twice`}},
		{"no users", "username\n", []string{"no users"}},
		{"every bad line", "username,extension\na,1\nb\n,3\nc,4,5\n\"d\n", []string{"line 3: 1 fields, but the header names 2",
			"line 4: the username is empty", "line 5: 3 fields", "line 6: column"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := resource.ParseBulkCSV(strings.NewReader(c.csv))
			var p resource.BulkProblems
			if !errors.As(err, &p) || xc5.ErrorCode(err) != xc5.EINVALID || len(p) != len(c.want) {
				t.Fatalf("got %v, want %d problems %q", err, len(c.want), c.want)
			}
			for i, w := range c.want {
				if !strings.Contains(p[i], w) {
					t.Errorf("problem %d = %q, want it to say %q", i, p[i], w)
				}
			}
		})
	}
}
