package sqlstore

import (
	"context"

	"xc5/resource"
	"xc5/secret"
)

// hydraFields are the account fields a HydraAccount shows and writes
// through, as its description declares them (resource.Field.Of).
var hydraFields = func() []string {
	var names []string
	for _, f := range resource.Hydra.Fields {
		if f.Of != nil {
			names = append(names, f.Name)
		}
	}
	return names
}()

// hydraRecord builds the one-record view of a POTS line.
func hydraRecord(acct, num resource.Record) resource.Record {
	v := map[string]any{"number": num.Values["number"], "account": acct.GUID}
	for _, f := range hydraFields {
		v[f] = acct.Values[f]
	}
	return resource.Record{GUID: num.Values["number"].(string), Seq: acct.Seq, Values: v}
}

// hydraLine reads the account and number of a POTS line.
func hydraLine(ctx context.Context, q execer, number string) (acct, num resource.Record, err error) {
	acct, err = account(ctx, q, "", number)
	if err == nil && acct.Values["username"] == number {
		var tel resource.Record
		if tel, err = account(ctx, q, "", resource.POTSParent); err == nil && acct.Parent == tel.GUID {
			num, err = numbersTable.getRow(ctx, q, "t.account = ? AND t.number = ?", acct.GUID, number)
			if err == nil {
				return acct, num, nil
			}
		}
	}
	return acct, num, notFound("HydraAccount %s not found", number)
}

func hydraNumber(id string) (string, error) {
	n, err := resource.Number.Field("number").Check(id)
	if err != nil {
		return "", err
	}
	return n.(string), nil
}

// readHydra reads the line id (GET /api-sys/HydraAccount/{number}), for
// system-level access only.
func readHydra(ctx context.Context, q execer, scope resource.Scope, id string) (resource.Record, error) {
	if scope != "" {
		return resource.Record{}, notFound("HydraAccount %s not found", id)
	}
	number, err := hydraNumber(id)
	if err != nil {
		return resource.Record{}, notFound("HydraAccount %s not found", id)
	}
	acct, num, err := hydraLine(ctx, q, number)
	if err != nil {
		return resource.Record{}, err
	}
	return hydraRecord(acct, num), nil
}

// listHydra lists the POTS lines.
func (s *Store) listHydra(ctx context.Context, q resource.Query, fn func(resource.Record) error) error {
	tel, err := account(ctx, s.reader(), "", resource.POTSParent)
	if err != nil {
		return err
	}
	return s.List(ctx, "", resource.Child, resource.Query{Parent: tel.GUID, Filter: q.Filter, After: q.After, Limit: q.Limit}, func(acct resource.Record) error {
		num, err := numbersTable.getRow(ctx, s.reader(), "t.account = ? AND t.number = ?", acct.GUID, acct.Values["username"])
		if err != nil {
			return nil // a _tel account not made by HydraAccount
		}
		return fn(hydraRecord(acct, num))
	})
}

// putHydra creates or updates a POTS line: account, number, forward and
// mailbox in one transaction.
func (s *Store) putHydra(ctx context.Context, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
	if id == "" {
		return resource.Record{}, false, invalid("name the line in the path: PUT /api-sys/HydraAccount/{number}")
	}
	number, err := hydraNumber(id)
	if err != nil {
		return resource.Record{}, false, err
	}
	pw, err := s.hydraPassword(ctx, number, in, mode)
	if err != nil {
		return resource.Record{}, false, err
	}
	acctIn := resource.Input{}
	for _, f := range hydraFields {
		if v, ok := in[f]; ok {
			acctIn[f] = v
		}
	}
	var out resource.Record
	created := false
	outer := ctx
	err = s.w.do(ctx, func(ctx context.Context, q execer) error {
		ctx = carryMailboxDropped(outer, ctx)
		acct, num, err := hydraLine(ctx, q, number)
		if err == nil {
			if pw.generated { // the line was there after all: its password stays
				pw.hash, pw.password = "", ""
			}
			if err := s.updateAccount(ctx, q, "", resource.Account, "", acct, acctIn, pw.hash, pw.password, &acct); err != nil {
				return err
			}
			out = hydraRecord(acct, num)
			return nil
		}
		if pw.hash == "" {
			return notFound("HydraAccount %s not found", number)
		}
		out, err = s.createHydraLine(ctx, q, number, acctIn, pw)
		created = err == nil
		return err
	})
	if err == nil && created {
		out.Values["password"] = pw.password
	}
	return out, created, err
}

// hydraPass is the password a line write sets: the one sent, or one
// generated for a line that does not exist yet (shown once); hash is
// computed before the write joins the writer's queue.
type hydraPass struct {
	password, hash string
	generated      bool
}

// hydraPassword decides the password of a line write. A PATCH of a line
// that does not exist is a 404.
func (s *Store) hydraPassword(ctx context.Context, number string, in resource.Input, mode resource.PutMode) (hydraPass, error) {
	var pw hydraPass
	password, hasPassword := in["password"].(string)
	if hasPassword && password == "" {
		return pw, invalid("password must not be empty")
	}
	_, _, lookErr := hydraLine(ctx, s.reader(), number)
	if lookErr != nil && mode == resource.Patch {
		return pw, lookErr
	}
	if lookErr != nil && !hasPassword {
		password, hasPassword, pw.generated = secret.Generate(), true, true
	}
	if hasPassword {
		pw.password, pw.hash = password, secret.Hash(password)
	}
	return pw, nil
}

// createHydraLine makes a new line in q: its account under _tel and its
// number, from the pool when it is there, else new.
func (s *Store) createHydraLine(ctx context.Context, q execer, number string, acctIn resource.Input, pw hydraPass) (resource.Record, error) {
	tel, err := account(ctx, q, "", resource.POTSParent)
	if err != nil {
		return resource.Record{}, err
	}
	acctIn["username"], acctIn["parent"] = number, tel.GUID
	var acct resource.Record
	if err := s.createAccount(ctx, q, "", resource.Account, "", "", acctIn, pw.hash, pw.password, &acct, true); err != nil {
		return resource.Record{}, err
	}
	pool, err := poolGUID(ctx, q)
	if err != nil {
		return resource.Record{}, err
	}
	if poolNum, err := numbersTable.getRow(ctx, q, "t.account = ? AND t.number = ?", pool, number); err == nil {
		if _, err := q.ExecContext(ctx, `UPDATE numbers SET account = ?, from_pool = 1 WHERE guid = ?`, acct.GUID, poolNum.GUID); err != nil {
			return resource.Record{}, err
		}
	} else {
		if err := checkNumberFree(ctx, q, number, ""); err != nil {
			return resource.Record{}, err
		}
		if err := numbersTable.insert(ctx, q, resource.NewGUID(), acct.GUID, nil, merge(resource.Number.Defaults(), resource.Input{"number": number})); err != nil {
			return resource.Record{}, err
		}
	}
	acct, num, err := hydraLine(ctx, q, number)
	if err != nil {
		return resource.Record{}, err
	}
	return hydraRecord(acct, num), nil
}

// deleteHydra removes a POTS line: its number (back to the pool when it
// came from there) and its account, together.
func (s *Store) deleteHydra(ctx context.Context, id string) error {
	number, err := hydraNumber(id)
	if err != nil {
		return notFound("HydraAccount %s not found", id)
	}
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		acct, _, err := hydraLine(ctx, q, number)
		if err != nil {
			return err
		}
		if err := referenced(ctx, q, "", resource.Account, acct); err != nil {
			return err
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM numbers WHERE account = ? AND from_pool = 0`, acct.GUID); err != nil {
			return err
		}
		if err := returnNumbers(ctx, q, "account = ?", acct.GUID); err != nil {
			return err
		}
		_, err = q.ExecContext(ctx, `DELETE FROM accounts WHERE guid = ?`, acct.GUID)
		return mapError(err)
	})
}
