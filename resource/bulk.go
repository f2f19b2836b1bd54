package resource

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"xc5"
)

// BulkColumns are the columns of a company's onboarding CSV, named in its
// header row: username (required), extension, ddi and voicemail.
var BulkColumns = []string{"username", "extension", "ddi", "voicemail"}

// MaxBulkUsers bounds the users of one onboarding (one transaction).
const MaxBulkUsers = 5000

// Bulk is the CSV onboarding of a company's users (docs/api.md, "Bulk
// onboarding"): PUT …/account/{company}/bulk with Content-Type text/csv.
// Each line makes what the document's walkthrough makes for one user.
var Bulk = &Resource{
	Name: "bulk",
	Description: "Onboard a company's users from CSV (PUT with Content-Type: text/csv): a header row naming the columns username, " +
		"extension, ddi and voicemail (only username is required), then one line per user. Each line creates the user account " +
		"under the company (a username without @ gets @company), allocates the DDI from the _unassigned.pool, adds the company's " +
		"order -2 callrule dialling the extension, and a voicemail route to email (order 200). All or nothing: any problem, " +
		"every one listed with its line number, writes nothing. ?dry_run=true checks everything and writes nothing. " +
		"Answers the users created, with their generated passwords",
	Methods: []string{"PUT", "OPTIONS"},
	NoItems: true,
	Parent:  Account,
	Routing: RoutingNone,
	Fields: []Field{
		{Name: "line", Type: Integer, ReadOnly: true, Description: "The user's line in the CSV (the header is line 1)"},
		{Name: "username", Type: String, ReadOnly: true, Description: "The user account created"},
		{Name: "guid", Type: String, ReadOnly: true, Description: "Its GUID (empty on a dry run)"},
		{Name: "password", Type: String, ReadOnly: true, Description: "Its generated password, shown once (empty on a dry run)"},
		{Name: "extension", Type: String, ReadOnly: true, Description: "The extension the company's callrule dials, or empty"},
		{Name: "ddi", Type: String, ReadOnly: true, Description: "The DDI allocated from the pool, or empty"},
		{Name: "voicemail", Type: String, ReadOnly: true, Description: "The address voicemail goes to, or empty"},
	},
}

// BulkUser is one line of an onboarding CSV.
type BulkUser struct {
	Line                                int
	Username, Extension, DDI, Voicemail string
}

// BulkResult is a user as onboarded.
type BulkResult struct {
	BulkUser
	GUID, Password string
}

// BulkProblems lists every problem of an onboarding, each with its line;
// its code is EINVALID.
type BulkProblems []string

func (p BulkProblems) Error() string { return strings.Join(p, "; ") }

// Unwrap gives the domain code (EINVALID) to xc5.ErrorCode.
func (p BulkProblems) Unwrap() error { return xc5.Errorf(xc5.EINVALID, "%s", p.Error()) }

// Onboarder onboards a company's users in one transaction (the SQL store).
type Onboarder interface {
	// Onboard creates users under the company (GUID or username) within
	// scope, all or nothing; with dryRun it checks everything and writes
	// nothing. Errors: BulkProblems, ENOTFOUND for the company.
	Onboard(ctx context.Context, scope Scope, company string, users []BulkUser, dryRun bool) ([]BulkResult, error)
}

// ParseBulkCSV reads an onboarding CSV. Problems of the file itself (a
// missing or unknown column, a line with the wrong count of fields, an
// empty username) are returned as BulkProblems, every one of them.
func ParseBulkCSV(in io.Reader) ([]BulkUser, error) {
	// Excel's "CSV UTF-8" starts with a byte order mark, which would make
	// a quoted first header a bare quote to encoding/csv.
	br := bufio.NewReader(in)
	if b, err := br.Peek(3); err == nil && string(b) == "\ufeff" {
		br.Discard(3)
	}
	r := csv.NewReader(br)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, BulkProblems{"line 1: the CSV is empty; it needs a header row: " + strings.Join(BulkColumns, ",")}
	}
	if err != nil {
		return nil, BulkProblems{csvError(err)}
	}
	var problems BulkProblems
	index := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		switch _, dup := index[h]; {
		case !slices.Contains(BulkColumns, h):
			problems = append(problems, fmt.Sprintf("line 1: unknown column %q (the columns are %s)", h, strings.Join(BulkColumns, ", ")))
		case dup:
			problems = append(problems, fmt.Sprintf("line 1: column %q appears twice", h))
		}
		index[h] = i
	}
	if _, ok := index["username"]; !ok {
		problems = append(problems, "line 1: the header has no username column")
	}
	if len(problems) > 0 {
		return nil, problems
	}
	var users []BulkUser
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			problems = append(problems, csvError(err))
			continue
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			problems = append(problems, fmt.Sprintf("line %d: %d fields, but the header names %d", line, len(rec), len(header)))
			continue
		}
		get := func(col string) string {
			if i, ok := index[col]; ok {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		u := BulkUser{Line: line, Username: get("username"), Extension: get("extension"), DDI: get("ddi"), Voicemail: get("voicemail")}
		if u.Username == "" {
			problems = append(problems, fmt.Sprintf("line %d: the username is empty", line))
			continue
		}
		users = append(users, u)
	}
	if len(users)+len(problems) > MaxBulkUsers {
		return nil, BulkProblems{fmt.Sprintf("more than %d users; split the file", MaxBulkUsers)}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	if len(users) == 0 {
		return nil, BulkProblems{"the CSV has a header but no users"}
	}
	return users, nil
}

// csvError says where the CSV could not be read.
func csvError(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		// An unclosed quote runs on to the end of the file: name where the
		// record starts, not only where reading stopped.
		if pe.StartLine != 0 && pe.StartLine != pe.Line {
			return fmt.Sprintf("line %d (to line %d): column %d: %v", pe.StartLine, pe.Line, pe.Column, pe.Err)
		}
		return fmt.Sprintf("line %d: column %d: %v", pe.Line, pe.Column, pe.Err)
	}
	return err.Error()
}
