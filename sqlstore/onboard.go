package sqlstore

// CSV onboarding of a company's users (resource.Bulk): each user is what
// the document's walkthrough provisions for acmebrick's receptionist, all
// users in one transaction.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"

	"xc5"
	"xc5/resource"
	"xc5/secret"
)

// errDryRun rolls back a dry run that found no problem.
var errDryRun = errors.New("dry run")

// Onboard implements resource.Onboarder. Every user is tried in its own
// savepoint so that one user's problem does not hide the next one's; any
// problem (or a dry run) then rolls the whole transaction back. The
// checks are the API's own: each record goes through resource.Decode and
// the store's writes of a PUT.
func (s *Store) Onboard(ctx context.Context, scope resource.Scope, company string, users []resource.BulkUser, dryRun bool) ([]resource.BulkResult, error) {
	comp, err := account(ctx, s.reader(), scope, company)
	if err != nil {
		return nil, err
	}
	// Password hashes are slow on purpose (argon2): the whole file is
	// checked first, as a dry run, so that a refused file costs none;
	// only then are they made, before the write joins the writer's
	// queue, as putAccount does. The write checks everything again.
	results, err := s.onboard(ctx, scope, comp, users, nil, nil)
	if dryRun || err != nil {
		return results, err
	}
	passwords, hashes := make([]string, len(users)), make([]string, len(users))
	hashAll(passwords, hashes)
	return s.onboard(ctx, scope, comp, users, passwords, hashes)
}

// onboard is one pass of Onboard in one transaction: a dry run without
// hashes (nil), else the write.
func (s *Store) onboard(ctx context.Context, scope resource.Scope, comp resource.Record, users []resource.BulkUser, passwords, hashes []string) ([]resource.BulkResult, error) {
	dryRun := hashes == nil
	origin := originOf(ctx) // the writer's context has none
	var ticket uint64
	var results []resource.BulkResult
	var changes []resource.Change
	err := s.w.doBulk(withTicket(ctx, &ticket), func(ctx context.Context, q execer) error {
		results, changes = nil, nil
		var problems resource.BulkProblems
		for i, u := range users {
			if _, err := q.ExecContext(ctx, "SAVEPOINT onboard"); err != nil {
				return err
			}
			hash, password := "", ""
			if !dryRun {
				hash, password = hashes[i], passwords[i]
			}
			res, ch, err := s.onboardUser(ctx, q, scope, comp, u, hash, password)
			if err == nil {
				err = trailOnboarded(ctx, q, origin, ch)
			}
			if err != nil {
				q.ExecContext(ctx, "ROLLBACK TO SAVEPOINT onboard")
				switch xc5.ErrorCode(err) {
				case xc5.EINVALID, xc5.ECONFLICT, xc5.ENOTFOUND, xc5.EFORBIDDEN:
					problems = append(problems, fmt.Sprintf("line %d: %s", u.Line, xc5.ErrorMessage(err)))
				default:
					return err // the database's trouble, not the file's
				}
			}
			if _, err := q.ExecContext(ctx, "RELEASE SAVEPOINT onboard"); err != nil {
				return err
			}
			results, changes = append(results, res), append(changes, ch...)
		}
		switch {
		case len(problems) > 0:
			return problems
		case dryRun:
			return errDryRun
		}
		return nil
	})
	if dryRun && errors.Is(err, errDryRun) {
		for i := range results {
			results[i].GUID, results[i].Password = "", ""
		}
		return results, nil
	}
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		s.emit(c, ticket)
	}
	return results, nil
}

// hashAll generates a password for each user and hashes it, on every
// core: an argon2 hash costs tens of milliseconds, a file may hold
// thousands of users (secret.Hash bounds the hashes at once itself).
func hashAll(passwords, hashes []string) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.NumCPU() {
		wg.Go(func() {
			for i := range next {
				passwords[i] = secret.Generate()
				hashes[i] = secret.Hash(passwords[i])
			}
		})
	}
	for i := range passwords {
		next <- i
	}
	close(next)
	wg.Wait()
}

// onboardUser provisions one user as the walkthrough does: the account
// under the company, its DDI from the pool, the company's order -2
// callrule for its extension, and a voicemail route to email.
func (s *Store) onboardUser(ctx context.Context, q execer, scope resource.Scope, comp resource.Record, u resource.BulkUser, hash, password string) (resource.BulkResult, []resource.Change, error) {
	res := resource.BulkResult{BulkUser: u, Password: password}
	var changes []resource.Change
	changed := func(r *resource.Resource, rec resource.Record) {
		changes = append(changes, resource.Change{Resource: r, Account: changedAccount(r, rec), Record: &rec})
	}
	username := strings.ToLower(u.Username)
	if !strings.Contains(username, "@") {
		username += "@" + comp.Values["username"].(string)
	}
	in, err := decodeInput(resource.Child, map[string]any{"username": username})
	if err != nil {
		return res, nil, err
	}
	if hash == "" {
		hash = "dry-run" // rolled back
	}
	var user resource.Record
	if err := s.createAccount(ctx, q, scope, resource.Child, comp.GUID, "", in, hash, password, &user, true); err != nil {
		return res, nil, err
	}
	res.Username, res.GUID = user.Values["username"].(string), user.GUID
	changed(resource.Child, user)
	if u.DDI != "" {
		rec, err := allocateDDI(ctx, q, scope, user, u.DDI)
		if err != nil {
			return res, nil, err
		}
		res.DDI = rec.Values["number"].(string)
		changed(resource.Number, rec)
	}
	if u.Extension != "" {
		rec, err := addExtension(ctx, q, scope, comp, res.Username, u.Extension)
		if err != nil {
			return res, nil, err
		}
		changed(resource.CallRule, rec)
	}
	if u.Voicemail != "" {
		if !strings.Contains(u.Voicemail, "@") || strings.ContainsAny(u.Voicemail, " ,;:") {
			return res, nil, invalid("voicemail %q is not an email address", u.Voicemail)
		}
		rec, err := insertRecord(ctx, q, scope, resource.Route, user, map[string]any{"order": 200, "destination": "email:" + u.Voicemail})
		if err != nil {
			return res, nil, err
		}
		changed(resource.Route, rec)
	}
	return res, changes, nil
}

// allocateDDI moves a number from the pool to the user, as PUT
// …/number/{pool number's guid} does. A number that is not in the pool,
// or that another account holds, is a problem of the line.
func allocateDDI(ctx context.Context, q execer, scope resource.Scope, user resource.Record, ddi string) (resource.Record, error) {
	in, err := decodeInput(resource.Number, map[string]any{"number": ddi})
	if err != nil {
		return resource.Record{}, fmt.Errorf("ddi: %w", err)
	}
	number := in["number"].(string)
	cur, err := numbersTable.getRow(ctx, q, "t.number = ?", number)
	if xc5.ErrorCode(err) == xc5.ENOTFOUND {
		return resource.Record{}, notFound("DDI %s is not in %s; add it there first", number, resource.SystemPool)
	}
	if err != nil {
		return resource.Record{}, err
	}
	pool, err := poolGUID(ctx, q)
	if err != nil {
		return resource.Record{}, err
	}
	if cur.Parent != pool && scope != "" {
		// Below a partition, a number outside the pool is answered as one
		// that does not exist (PUT …/number/{guid} is 404 for it): naming
		// its holder, or answering differently, would tell one company
		// another's numbers.
		return resource.Record{}, notFound("DDI %s is not in %s; add it there first", number, resource.SystemPool)
	}
	if cur.Parent != pool {
		return resource.Record{}, conflict("DDI %s is already assigned to %v", number, cur.Values["assigned"])
	}
	return updateNumber(ctx, q, scope, user, cur, resource.Input{})
}

// addExtension adds the company's callrule that dials the user's
// extension (the walkthrough's {"order":-2, "prefix_raw":"600",
// "username":…, "destination":":600"}); an extension the company already
// dials is a problem of the line.
func addExtension(ctx context.Context, q execer, scope resource.Scope, comp resource.Record, username, ext string) (resource.Record, error) {
	var other string
	err := q.QueryRowContext(ctx, `SELECT username FROM callrules WHERE account = ? AND "order" = -2 AND prefix_raw = ?`, comp.GUID, ext).Scan(&other)
	if err == nil {
		return resource.Record{}, conflict("extension %s is already %s's", ext, other)
	}
	return insertRecord(ctx, q, scope, resource.CallRule, comp, map[string]any{"order": -2, "prefix_raw": ext, "username": username, "destination": ":" + ext})
}

// insertRecord creates a record of r under owner from the fields a PUT
// body would carry, checked as the API checks them.
func insertRecord(ctx context.Context, q execer, scope resource.Scope, r *resource.Resource, owner resource.Record, fields map[string]any) (resource.Record, error) {
	in, err := decodeInput(r, fields)
	if err != nil {
		return resource.Record{}, err
	}
	t, err := tableOf(r)
	if err != nil {
		return resource.Record{}, err
	}
	rec, _, err := insertSimple(ctx, q, scope, r, t, owner, "", in, nil, true)
	// rec.Parsed (insertSimple's) goes to the view, as Put's change does
	return rec, err
}

// decodeInput runs fields through resource.Decode, as a PUT body.
func decodeInput(r *resource.Resource, fields map[string]any) (resource.Input, error) {
	body, err := json.Marshal(fields)
	if err != nil {
		return nil, err
	}
	return resource.Decode(r, body)
}

// trailOnboarded writes the audit entries and webhook events of one
// onboarded user's records, in the onboarding's transaction, as Put's
// trail does for each record written one at a time: an onboarding is
// API writes too, and a provider's CRM hears of the accounts and numbers
// it made.
func trailOnboarded(ctx context.Context, q execer, origin *xc5.Origin, changes []resource.Change) error {
	for _, c := range changes {
		rec := eventRecord(c.Resource, *c.Record)
		if err := auditOther(ctx, q, origin, c.Resource.Name, c.Record.GUID, c.Account, nil, rec); err != nil {
			return err
		}
		if !eventful(c.Resource) {
			continue
		}
		if err := queueEvent(ctx, q, c.Account, xc5.Event{Type: c.Resource.Events[0], Record: rec}); err != nil {
			return err
		}
	}
	return nil
}
