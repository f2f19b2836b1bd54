package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"xc5"
	"xc5/resource"
)

// The checks that keep a partitioned (api_access=user) caller inside its
// company. They run inside the write's transaction, so that what they
// count or look up cannot change before the write commits.

// partitionRoot returns the account at the root of a user-level scope.
func partitionRoot(ctx context.Context, q execer, scope resource.Scope) (resource.Record, error) {
	guid := strings.TrimSuffix(string(scope), "/")
	guid = guid[strings.LastIndexByte(guid, '/')+1:]
	return ownerAccount(ctx, q, scope, guid)
}

// checkNewUsername checks a username a user-level caller gives an
// account (new or renamed): in the partition's domain, and not held by an
// account outside the partition, which is refused without saying so.
func checkNewUsername(ctx context.Context, q execer, scope resource.Scope, username string) error {
	root, err := partitionRoot(ctx, q, scope)
	if err != nil {
		return err
	}
	if err := resource.CheckPartitionUsername(username, root.Values["username"].(string)); err != nil {
		return err
	}
	if _, err := account(ctx, q, "", username); err == nil {
		if _, err := account(ctx, q, scope, username); err == nil {
			return conflict("account %s already exists", username)
		}
		return xc5.Errorf(xc5.EFORBIDDEN, "username %s is not available to your partition", username)
	}
	return nil
}

// guidTaken reports whether a record of table already has guid: a
// user-level PUT to such a GUID outside its partition is a 404, as if the
// record did not exist, rather than a conflict that tells it does.
func guidTaken(ctx context.Context, q execer, t *table, guid string) bool {
	return exists(ctx, q, "SELECT 1 FROM "+t.name+" WHERE guid = ?", strings.ToUpper(guid))
}

// guidHasCDRs reports whether CDRs are kept under an account GUID: they
// outlive their account, and a user-level create of an account with that
// GUID would read another company's calls, so it is a 404 like any GUID
// that exists elsewhere.
func guidHasCDRs(ctx context.Context, q execer, guid string) bool {
	return exists(ctx, q, "SELECT 1 FROM cdrs WHERE account = ? LIMIT 1", strings.ToUpper(guid))
}

// lockHeldInScope reports whether an account of the scope holds number,
// and locks that number's row until the write commits (a no-op UPDATE: a
// row lock on PostgreSQL; SQLite writes one at a time), so that a
// concurrent return of the number to the pool, on any node, waits for the
// alias being written and then deletes it, or runs first and the number
// is no longer held.
func lockHeldInScope(ctx context.Context, q execer, scope resource.Scope, number string) (bool, error) {
	lo, hi := prefixRange(string(scope))
	res, err := q.ExecContext(ctx, `UPDATE numbers SET number = number WHERE number = ?
		AND account IN (SELECT guid FROM accounts WHERE path >= ? AND path < ?)`, number, lo, hi)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// checkUserNumber checks the number a user-level caller writes: only a:
// aliases of numbers its partition holds; plain numbers come from the
// provider, through the pool.
func checkUserNumber(ctx context.Context, q execer, scope resource.Scope, number string) error {
	digits, alias := strings.CutPrefix(number, "a:")
	if !alias {
		return xc5.Errorf(xc5.EFORBIDDEN, "number: numbers come from your provider: list free ones with GET …/numberallocate and allocate one with PUT …/number/{guid}")
	}
	held, err := lockHeldInScope(ctx, q, scope, digits)
	if err != nil {
		return err
	}
	if !held {
		return xc5.Errorf(xc5.EFORBIDDEN, "number: %s may present only a number your partition holds, and %s is not one", number, digits)
	}
	return nil
}

// limit is a number_limit or prompt_limit on an account of a chain.
type limit struct {
	guid, path, username string
	max                  int
}

// chainLimits returns the limits called name set on target or an
// ancestor, outermost first.
func chainLimits(ctx context.Context, q execer, target resource.Record, name string) ([]limit, error) {
	guids := strings.Split(strings.Trim(target.Path, "/"), "/")
	args := make([]any, 0, len(guids)+1)
	args = append(args, name)
	for _, g := range guids {
		args = append(args, g)
	}
	rows, err := q.QueryContext(ctx, `SELECT r.guid, r.value, a.path, a.username FROM account_resources r JOIN accounts a ON a.guid = r.account
		WHERE r.name = ? AND r.account IN (?`+strings.Repeat(", ?", len(guids)-1)+`) ORDER BY length(a.path)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var limits []limit
	for rows.Next() {
		var l limit
		var v string
		if err := rows.Scan(&l.guid, &v, &l.path, &l.username); err != nil {
			return nil, err
		}
		l.max, _ = strconv.Atoi(v)
		limits = append(limits, l)
	}
	return limits, rows.Err()
}

// reached checks one limit for one more record in its subtree: the
// limit's row is locked before counting (a no-op UPDATE: a row lock on
// PostgreSQL, and SQLite writes one at a time), so that concurrent writes,
// on any node, cannot overshoot. count counts the subtree's records
// between the path bounds lo and hi. The refusal names the limit and its
// value only when it is set inside the caller's partition: a limit above
// it is the provider's business.
func (l limit) reached(ctx context.Context, q execer, scope resource.Scope, name, count string) error {
	return l.exceeded(ctx, q, scope, name, count, 1)
}

// exceeded is reached for adding records at once (an account moved with
// its numbers).
func (l limit) exceeded(ctx context.Context, q execer, scope resource.Scope, name, count string, adding int) error {
	if _, err := q.ExecContext(ctx, `UPDATE account_resources SET value = value WHERE guid = ?`, l.guid); err != nil {
		return err
	}
	lo, hi := prefixRange(l.path)
	var n int
	if err := q.QueryRowContext(ctx, count, lo, hi).Scan(&n); err != nil {
		return err
	}
	if n+adding <= l.max {
		return nil
	}
	if !strings.HasPrefix(l.path, string(scope)) {
		return xc5.Errorf(xc5.EFORBIDDEN, "%s: the %s that your provider set above your partition is reached", name, name)
	}
	return xc5.Errorf(xc5.EFORBIDDEN, "%s: the %s of %d set by your provider on %s is reached", name, name, l.max, l.username)
}

// checkNumberLimit checks, for a user-level caller moving a number into
// the account target (from the account whose path is fromPath, "" for the
// pool), every number_limit set on target or an ancestor whose subtree
// the number enters. Without any number_limit on the way, user-level
// access allocates none.
func checkNumberLimit(ctx context.Context, q execer, scope resource.Scope, target resource.Record, fromPath string) error {
	limits, err := chainLimits(ctx, q, target, resource.NumberLimit)
	if err != nil {
		return err
	}
	if len(limits) == 0 {
		return xc5.Errorf(xc5.EFORBIDDEN, "number_limit: your provider has set no number_limit for %s or above it, so no numbers can be allocated", target.Values["username"])
	}
	for _, l := range limits {
		if fromPath != "" && strings.HasPrefix(fromPath, l.path) {
			continue // the number stays within this subtree
		}
		if err := l.reached(ctx, q, scope, resource.NumberLimit, plainNumbersIn); err != nil {
			return err
		}
	}
	return nil
}

// plainNumbersIn counts the plain (not a:) numbers of the subtree between
// the path bounds lo and hi; number_limit counts these.
const plainNumbersIn = `SELECT count(*) FROM numbers n JOIN accounts a ON a.guid = n.account
	WHERE a.path >= ? AND a.path < ? AND n.number NOT LIKE 'a:%'`

// checkMoveNumberLimit checks, for a user-level move of the account cur
// under p, every number_limit on p or an ancestor whose subtree cur's
// numbers enter: a move must not take a sub-group past its limit.
func checkMoveNumberLimit(ctx context.Context, q execer, scope resource.Scope, cur, p resource.Record) error {
	lo, hi := prefixRange(cur.Path)
	var k int
	if err := q.QueryRowContext(ctx, plainNumbersIn, lo, hi).Scan(&k); err != nil || k == 0 {
		return err
	}
	limits, err := chainLimits(ctx, q, p, resource.NumberLimit)
	if err != nil {
		return err
	}
	for _, l := range limits {
		if strings.HasPrefix(cur.Path, l.path) {
			continue // the numbers are already within this subtree
		}
		if err := l.exceeded(ctx, q, scope, resource.NumberLimit, plainNumbersIn, k); err != nil {
			return err
		}
	}
	return nil
}

// checkPromptLimit checks, for a user-level caller creating a prompt on
// owner, every prompt_limit set on owner or an ancestor; without one,
// prompts are not bounded.
func checkPromptLimit(ctx context.Context, q execer, scope resource.Scope, owner resource.Record) error {
	limits, err := chainLimits(ctx, q, owner, resource.PromptLimit)
	if err != nil {
		return err
	}
	for _, l := range limits {
		if err := l.reached(ctx, q, scope, resource.PromptLimit, `SELECT count(*) FROM prompts p JOIN accounts a ON a.guid = p.account
			WHERE a.path >= ? AND a.path < ?`); err != nil {
			return err
		}
	}
	return nil
}

// checkUserCreate checks a number a user-level caller creates on the
// collection path: the owner first (404), then the number, then a GUID
// from the body that belongs to a number elsewhere (404).
func checkUserCreate(ctx context.Context, q execer, scope resource.Scope, parent string, in resource.Input) error {
	if _, err := ownerAccount(ctx, q, scope, parent); err != nil {
		return err
	}
	if n := in.String("number"); n != "" {
		if err := checkUserNumber(ctx, q, scope, n); err != nil {
			return err
		}
	}
	if g := in.String("guid"); g != "" && guidTaken(ctx, q, numbersTable, g) {
		return notFound("number %s not found", g)
	}
	return nil
}

// takeNumber moves the number cur to the account p: from the pool (it
// then remembers that it came from there), or, for a user-level caller,
// from another account of its partition. A number of another account is
// 409 for system level (a number is not taken from a customer by
// accident) and 404 outside a user-level caller's partition.
//
// On PostgreSQL another writer may move the number between our read of
// cur and our UPDATE (SQLite's one writer never races itself): the
// UPDATE then changes nothing, and the number is read again (a new
// statement sees the other writer's commit) and judged anew, as a
// request coming a moment later would be: the loser of two allocations
// of one pool number gets the 409 of a number someone holds, not a 404.
func takeNumber(ctx context.Context, q execer, scope resource.Scope, p, cur resource.Record) error {
	for range 3 {
		moved, err := takeNumberOnce(ctx, q, scope, p, cur)
		if err != nil || moved {
			return err
		}
		if cur, err = numbersTable.getRow(ctx, q, "t.guid = ?", cur.GUID); err != nil {
			return err
		}
		if cur.Parent == p.GUID {
			return nil // the other writer moved it here
		}
	}
	return conflict("number %s is being written by another request; try again", cur.Values["number"])
}

// takeNumberOnce is one attempt of takeNumber. It reports false, having
// written nothing, when the number has left cur.Parent since cur was read.
func takeNumberOnce(ctx context.Context, q execer, scope resource.Scope, p, cur resource.Record) (bool, error) {
	pool, err := poolGUID(ctx, q)
	if err != nil {
		return false, err
	}
	number := cur.Values["number"].(string)
	plain := !strings.HasPrefix(number, "a:")
	if cur.Parent == pool {
		if scope != "" && plain {
			if err := checkNumberLimit(ctx, q, scope, p, ""); err != nil {
				return false, err
			}
		}
		if scope != "" && !plain {
			if err := checkUserNumber(ctx, q, scope, number); err != nil {
				return false, err
			}
		}
		// Only while it is still in the pool: of two accounts taking the
		// same number at once, one gets it.
		return moveNumber(ctx, q, `UPDATE numbers SET account = ?, from_pool = 1 WHERE guid = ? AND account = ?`, p.GUID, cur.GUID, pool)
	}
	holder, err := ownerAccount(ctx, q, scope, cur.Parent)
	if err != nil {
		return false, notFound("number %s not found", cur.GUID) // outside the caller's partition
	}
	if scope == "" {
		return false, conflict("number %s is assigned to another account", cur.Values["number"])
	}
	if plain {
		if err := checkNumberLimit(ctx, q, scope, p, holder.Path); err != nil {
			return false, err
		}
	}
	// Only while the holder still has it: a concurrent move or return on
	// another node may have taken it since it was read.
	return moveNumber(ctx, q, `UPDATE numbers SET account = ? WHERE guid = ? AND account = ?`, p.GUID, cur.GUID, cur.Parent)
}

// moveNumber runs one of takeNumber's conditional UPDATEs and reports
// whether it moved the number.
func moveNumber(ctx context.Context, q execer, query string, args ...any) (bool, error) {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// returnUserNumber is a user-level DELETE of a number: a plain number
// goes back to the pool whether or not it was allocated from there (the
// provider's numbers are never lost by a customer), and every a: alias of
// it goes with it, since no one holds the number they present. An a:
// alias is simply removed.
func returnUserNumber(ctx context.Context, q execer, scope resource.Scope, cur resource.Record) error {
	number := cur.Values["number"].(string)
	if strings.HasPrefix(number, "a:") {
		_, err := q.ExecContext(ctx, `DELETE FROM numbers WHERE guid = ?`, cur.GUID)
		return err
	}
	return returnToPool(ctx, q, cur.GUID, number, cur.Parent)
}

// ancestorsDisabled reports whether an ancestor on an account's path is
// disabled: an account is enabled only while all of its ancestors are, so
// that a provider disabling a company stops every account of it (calls,
// REGISTER and API access alike).
func ancestorsDisabled(ctx context.Context, q execer, path, guid string) (bool, error) {
	var args []any
	for _, g := range strings.Split(strings.Trim(path, "/"), "/") {
		if g != "" && g != guid {
			args = append(args, g)
		}
	}
	if len(args) == 0 {
		return false, nil
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE enabled = 0 AND guid IN (?`+strings.Repeat(", ?", len(args)-1)+`)`, args...).Scan(&n)
	return n > 0, err
}

// checkForkCap refuses a fork past resource.MaxForks on its account, at
// every level of access. The account's row is locked before counting (a
// no-op UPDATE), so concurrent creates on any node cannot overshoot.
func checkForkCap(ctx context.Context, q execer, owner resource.Record) error {
	if _, err := q.ExecContext(ctx, `UPDATE accounts SET enabled = enabled WHERE guid = ?`, owner.GUID); err != nil {
		return err
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM forks WHERE account = ?`, owner.GUID).Scan(&n); err != nil {
		return err
	}
	if n >= resource.MaxForks {
		return invalid("fork: %s already has %d forks, the most an account may have (each call rings them all at once)", owner.Values["username"], resource.MaxForks)
	}
	return nil
}
