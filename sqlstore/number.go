package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync"

	"xc5"
	"xc5/resource"
)

// poolGUID returns the GUID of _unassigned.pool.
func poolGUID(ctx context.Context, q execer) (string, error) {
	p, err := account(ctx, q, "", resource.SystemPool)
	return p.GUID, err
}

// returnNumbers moves the numbers selected by where back to the pool,
// clearing what belonged to their last owner (forwards, ring tones, pilot
// flag, account code) so that the next customer starts clean.
func returnNumbers(ctx context.Context, q execer, where string, args ...any) error {
	_, err := returnCounted(ctx, q, where, args...)
	return err
}

// returnCounted is returnNumbers reporting how many numbers it returned.
func returnCounted(ctx context.Context, q execer, where string, args ...any) (int64, error) {
	pool, err := poolGUID(ctx, q)
	if err != nil {
		return 0, err
	}
	res, err := q.ExecContext(ctx, `UPDATE numbers SET account = ?, is_pilot = 0, cfa = '', alert_info = '', account_code = '', from_pool = 0 WHERE `+where,
		append([]any{pool}, args...)...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// returnToPool returns one plain number (by GUID) to the pool and deletes
// every a: alias of it: a number in the pool is presented by no one, and
// whoever gets it next must not find another account presenting it. The
// number's row is updated before the aliases are deleted, so a concurrent
// alias of it (which locks the row, see checkUserNumber) either commits
// first and is deleted here, or sees the number gone.
//
// holder is the account the number was read from: a concurrent move on
// another node may have given it to another account since, and then it
// is not found.
func returnToPool(ctx context.Context, q execer, guid, number, holder string) error {
	n, err := returnCounted(ctx, q, "guid = ? AND account = ?", guid, holder)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound("number %s not found", guid)
	}
	_, err = q.ExecContext(ctx, `DELETE FROM numbers WHERE number = ?`, "a:"+number)
	return err
}

// returnAccountNumbers is what a deleted account's numbers become: its
// plain numbers go back to the pool with every a: alias of them, and its
// own a: aliases are deleted (an alias is no number of the provider's: it
// never enters the pool).
func returnAccountNumbers(ctx context.Context, q execer, account string) error {
	if _, err := q.ExecContext(ctx, `DELETE FROM numbers WHERE account = ? AND number LIKE 'a:%'`, account); err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT guid, number FROM numbers WHERE account = ?`, account)
	if err != nil {
		return err
	}
	var held [][2]string
	for rows.Next() {
		var g, n string
		if err := rows.Scan(&g, &n); err != nil {
			rows.Close()
			return err
		}
		held = append(held, [2]string{g, n})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, h := range held {
		if err := returnToPool(ctx, q, h[0], h[1], account); err != nil {
			return err
		}
	}
	return nil
}

// checkNumberFree gives a helpful 409 before the unique index would.
func checkNumberFree(ctx context.Context, q execer, number, except string) error {
	if strings.HasPrefix(number, "a:") {
		return nil
	}
	var owner, guid string
	err := q.QueryRowContext(ctx, `SELECT a.username, n.guid FROM numbers n JOIN accounts a ON a.guid = n.account
		WHERE n.number = ? AND n.number NOT LIKE 'a:%' AND n.guid <> ?`,
		number, except).Scan(&owner, &guid)
	if err != nil {
		return nil
	}
	if owner == resource.SystemPool {
		return conflict("number %s is in %s; allocate it with PUT …/number/%s", number, resource.SystemPool, guid)
	}
	return conflict("number %s already exists", number)
}

// putNumber creates, updates or allocates a number. PUT (or PATCH) of a
// GUID that sits in the pool moves that number to the account.
func (s *Store) putNumber(ctx context.Context, scope resource.Scope, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	var out resource.Record
	var created bool
	err := s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		out, created = resource.Record{}, false
		if id == "" && mode != resource.Patch {
			if scope != "" {
				if err := checkUserCreate(ctx, q, scope, parent, in); err != nil {
					return err
				}
			}
			var err error
			out, err = createNumber(ctx, q, scope, parent, in)
			created = err == nil
			return err
		}
		p, err := ownerAccount(ctx, q, scope, parent)
		if err != nil {
			return err
		}
		// On PostgreSQL several writers may look for a new GUID before
		// the first of them commits it: the others' inserts then find it
		// taken, and they update it instead, as a PUT coming a moment
		// later would (SQLite's one writer never races with itself).
		for range 3 {
			var cur resource.Record
			err = errNotFound
			if id != "" {
				cur, err = numbersTable.getRow(ctx, q, "t.guid = ?", strings.ToUpper(id))
			}
			switch {
			case err == nil:
				out, err = updateNumber(ctx, q, scope, p, cur, in)
				return err
			case xc5.ErrorCode(err) != xc5.ENOTFOUND:
				return err
			case mode == resource.Patch:
				return notFound("number %s not found", id)
			}
			out, created, err = insertNumber(ctx, q, scope, p, id, in)
			if err != nil || created {
				return err
			}
		}
		return conflict("number %s is being written by another request; try again", id)
	})
	return out, created, err
}

// updateNumber writes in over the number cur, moving it to the account p
// when it comes from the pool or, below system level, from elsewhere in
// the partition (takeNumber).
func updateNumber(ctx context.Context, q execer, scope resource.Scope, p, cur resource.Record, in resource.Input) (resource.Record, error) {
	if cur.Parent != p.GUID {
		if err := takeNumber(ctx, q, scope, p, cur); err != nil {
			return resource.Record{}, err
		}
	}
	if n, ok := in["number"].(string); ok && scope != "" && n != cur.Values["number"] {
		if !strings.HasPrefix(cur.Values["number"].(string), "a:") {
			return resource.Record{}, xc5.Errorf(xc5.EFORBIDDEN, "number: a number from your provider cannot be renumbered below system-level API access")
		}
		if err := checkUserNumber(ctx, q, scope, n); err != nil {
			return resource.Record{}, err
		}
	}
	if n, ok := in["number"].(string); ok {
		if err := checkNumberFree(ctx, q, n, cur.GUID); err != nil {
			return resource.Record{}, err
		}
	}
	if err := numbersTable.update(ctx, q, cur.GUID, nil, in); err != nil {
		return resource.Record{}, err
	}
	return numbersTable.getRow(ctx, q, "t.guid = ?", cur.GUID)
}

// insertNumber creates the number PUT under id in the account p. It
// reports false, having written nothing, when a concurrent write has
// just created a record of that GUID (or taken the number and given it
// up again): the caller then looks again.
func insertNumber(ctx context.Context, q execer, scope resource.Scope, p resource.Record, id string, in resource.Input) (resource.Record, bool, error) {
	guid, err := newGUID(resource.Number, id, in)
	if err != nil {
		return resource.Record{}, false, err
	}
	vals := merge(resource.Number.Defaults(), in)
	if err := required(resource.Number, vals, in); err != nil {
		return resource.Record{}, false, err
	}
	if scope != "" {
		if err := checkUserNumber(ctx, q, scope, vals["number"].(string)); err != nil {
			return resource.Record{}, false, err
		}
	}
	// The record's own GUID is no conflict: that is the race above.
	if err := checkNumberFree(ctx, q, vals["number"].(string), guid); err != nil {
		return resource.Record{}, false, err
	}
	seq, inserted, err := numbersTable.insertNew(ctx, q, guid, p.GUID, nil, vals)
	if err != nil || !inserted {
		return resource.Record{}, false, err
	}
	// The record is what was written; no need to read it back.
	vals["guid"], vals["assigned"] = guid, p.Values["username"]
	return resource.Record{GUID: guid, Parent: p.GUID, Seq: seq, Values: vals}, true, nil
}

// deleteNumber removes a number, or returns it to the pool when it came
// from there: a provider's numbers are never lost by a customer's delete.
func (s *Store) deleteNumber(ctx context.Context, scope resource.Scope, parent, id string) error {
	return s.w.doRerunnable(ctx, func(ctx context.Context, q execer) error {
		cur, err := get(ctx, q, scope, resource.Number, parent, id)
		if err != nil {
			return err
		}
		var fromPool int64
		if err := q.QueryRowContext(ctx, `SELECT from_pool FROM numbers WHERE guid = ?`, cur.GUID).Scan(&fromPool); err != nil {
			return err
		}
		if scope != "" {
			return returnUserNumber(ctx, q, scope, cur)
		}
		if fromPool != 0 && !strings.HasPrefix(cur.Values["number"].(string), "a:") {
			return returnToPool(ctx, q, cur.GUID, cur.Values["number"].(string), cur.Parent)
		}
		_, err = q.ExecContext(ctx, `DELETE FROM numbers WHERE guid = ?`, cur.GUID)
		return err
	})
}

// createNumber creates a number named by no GUID in the path, the hot
// path of provisioning, in one statement: the owner's lookup and the
// uniqueness check are folded into the INSERT, which writes nothing when
// the account is missing (or outside scope) or the number is taken. Only
// then do the separate checks run, to give the same 404 or 409 (with the
// same message) as before; the unique index still decides races.
func createNumber(ctx context.Context, q execer, scope resource.Scope, parent string, in resource.Input) (resource.Record, error) {
	guid, err := newGUID(resource.Number, "", in)
	if err == nil {
		err = required(resource.Number, merge(resource.Number.Defaults(), in), in)
	}
	if err != nil {
		// A missing owner is reported before a bad body.
		if _, oerr := ownerAccount(ctx, q, scope, parent); oerr != nil {
			return resource.Record{}, oerr
		}
		return resource.Record{}, err
	}
	vals := merge(resource.Number.Defaults(), in)
	number := vals["number"].(string)
	ownerCol, owner := "guid", strings.ToUpper(parent)
	if !resource.IsGUID(parent) {
		ownerCol, owner = "username", strings.ToLower(parent)
	}
	args := make([]any, 0, len(numbersTable.cols)+4)
	args = append(args, guid)
	var mask uint64 // which columns the statement writes
	for i, c := range numbersTable.cols {
		if c.col == "" {
			continue
		}
		if v, ok := vals[c.field.Name]; ok {
			mask |= 1 << i
			args = append(args, dbValue(v))
		}
	}
	args = append(args, owner, len(scope), string(scope))
	query := createNumberSQL(mask, ownerCol)
	var seq int64
	var account, username string
	err = q.QueryRowContext(ctx, query, args...).Scan(&seq, &account, &username)
	if errors.Is(err, sql.ErrNoRows) {
		changedNothing(q)
		p, err := ownerAccount(ctx, q, scope, parent)
		if err != nil {
			return resource.Record{}, err
		}
		if err := checkNumberFree(ctx, q, number, ""); err != nil {
			return resource.Record{}, err
		}
		// Neither: the conflicting number went away (or the account
		// appeared) since the INSERT looked. Insert as usual.
		if seq, err = numbersTable.insertID(ctx, q, guid, p.GUID, nil, vals); err != nil {
			return resource.Record{}, err
		}
		account, username = p.GUID, p.Values["username"].(string)
	} else if err != nil {
		return resource.Record{}, mapError(err)
	}
	// The record is what was written; no need to read it back.
	vals["guid"], vals["assigned"] = guid, username
	return resource.Record{GUID: guid, Parent: account, Seq: seq, Values: vals}, nil
}

// createNumberSQLs caches createNumber's statement texts by the columns
// written and the owner column: building the text anew was a tenth of
// the bytes a create allocated.
var createNumberSQLs sync.Map // createNumberKey → string

type createNumberKey struct {
	// mask has a bit per column of numbers, so numbers may have at most
	// 64 columns: TestNumberColumnsFitMask holds it to that, rather than
	// a panic when the package loads.
	mask     uint64
	ownerCol string
}

// createNumberSQL returns the INSERT of createNumber writing the columns
// of numbersTable.cols set in mask, for an owner named by ownerCol.
func createNumberSQL(mask uint64, ownerCol string) string {
	key := createNumberKey{mask, ownerCol}
	if q, ok := createNumberSQLs.Load(key); ok {
		return q.(string)
	}
	cols := []string{"guid", "account"}
	sel := []string{"?", "a.guid"}
	for i, c := range numbersTable.cols {
		if mask&(1<<i) != 0 {
			cols, sel = append(cols, c.col), append(sel, "?")
		}
	}
	// SQLite needs the WHERE of INSERT … SELECT … ON CONFLICT (it has one).
	q := "INSERT INTO numbers (" + strings.Join(cols, ", ") + ") SELECT " + strings.Join(sel, ", ") +
		" FROM accounts a WHERE a." + ownerCol + " = ? AND substr(a.path, 1, ?) = ?" +
		" ON CONFLICT (number) WHERE number NOT LIKE 'a:%' DO NOTHING" +
		" RETURNING id, account, (SELECT username FROM accounts WHERE guid = numbers.account)"
	createNumberSQLs.Store(key, q)
	return q
}
