package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"xc5"
	"xc5/resource"
)

// The provider's restrictions on an account are its provider-set callrules
// (provider_set, migration 029) and a concurrent_limit other than 0 (a
// field only system level writes). Below system level they must not be
// shed by deleting the account and creating it again (callrules go with
// their account), nor by moving an account out from under one that holds
// them: the restrictions on an account's ancestry never shrink.

// holdsRestriction is the SQL condition, on accounts a, that a holds a
// restriction of the provider that applies below it: a provider-set
// drop: callrule or a concurrent_limit.
const holdsRestriction = `(a.concurrent_limit <> 0 OR EXISTS (SELECT 1 FROM callrules c
	WHERE c.account = a.guid AND c.provider_set = 1 AND c.destination LIKE 'drop:%'))`

// forbidDropProviderHeld refuses a user-level delete of an account holding
// provider-set callrules or a concurrent_limit.
func forbidDropProviderHeld(ctx context.Context, q execer, scope resource.Scope, cur resource.Record) error {
	if scope == "" {
		return nil
	}
	var rules int
	if err := q.QueryRowContext(ctx, `SELECT count(*) FROM callrules WHERE account = ? AND provider_set = 1`, cur.GUID).Scan(&rules); err != nil {
		return mapError(err)
	}
	username := cur.Values["username"]
	if rules > 0 {
		return xc5.Errorf(xc5.EFORBIDDEN, "account %s holds %d callrule(s) set by the provider: user-level API access cannot delete it (the provider's rules would go with it)", username, rules)
	}
	if n, _ := cur.Values["concurrent_limit"].(int64); n != 0 {
		return xc5.Errorf(xc5.EFORBIDDEN, "account %s has a concurrent_limit set by the provider: user-level API access cannot delete it (the limit would go with it)", username)
	}
	return nil
}

// forbidMoveOutOfRestriction refuses a user-level move of cur under p that
// takes it out from under an account holding a provider's restriction:
// every such ancestor of cur must still be one (p or above p).
func forbidMoveOutOfRestriction(ctx context.Context, q execer, scope resource.Scope, cur, p resource.Record) error {
	if scope == "" {
		return nil
	}
	var lost []any
	for _, g := range strings.Split(strings.Trim(cur.Path, "/"), "/") {
		if g != cur.GUID && !strings.Contains(p.Path, "/"+g+"/") {
			lost = append(lost, g)
		}
	}
	if len(lost) == 0 {
		return nil
	}
	var username string
	err := q.QueryRowContext(ctx, `SELECT a.username FROM accounts a WHERE a.guid IN (?`+strings.Repeat(", ?", len(lost)-1)+`) AND `+
		holdsRestriction+` ORDER BY length(a.path) LIMIT 1`, lost...).Scan(&username)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return mapError(err)
	}
	return xc5.Errorf(xc5.EFORBIDDEN, "parent: account %s is under %s, which holds a restriction set by the provider (a drop: callrule or concurrent_limit); user-level API access cannot move it out from under it", cur.Values["username"], username)
}
