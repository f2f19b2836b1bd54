package sqlstore

import (
	"context"
	"strings"

	"xc5"
	"xc5/secret"
)

// AllSIPCredentials returns the digest secrets of up to limit accounts
// (every account when limit is 0 or less), each as SIPCredentials would
// return it, Enabled included (false while any ancestor is disabled). It
// is one read of the accounts table instead of one per account: the SIP
// service fills its credentials cache with it when it starts, so that the
// storm of REGISTERs after a restart (every phone at once, each account's
// first REGISTER a cache miss) does not also read every account one by
// one.
func (s *Store) AllSIPCredentials(ctx context.Context, limit int) ([]xc5.SIPCredentials, error) {
	q := s.reader()
	disabled := map[string]bool{}
	rows, err := q.QueryContext(ctx, `SELECT guid FROM accounts WHERE enabled = 0`)
	if err != nil {
		return nil, storeErr(err)
	}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			rows.Close()
			return nil, storeErr(err)
		}
		disabled[g] = true
	}
	if err := rows.Close(); err != nil {
		return nil, storeErr(err)
	}
	query := `SELECT guid, username, ha1_md5, ha1_sha256, ha1_local_md5, ha1_local_sha256, path FROM accounts`
	var args []any
	if limit > 0 {
		query += ` ORDER BY id LIMIT ?`
		args = append(args, limit)
	}
	if rows, err = q.QueryContext(ctx, query, args...); err != nil {
		return nil, storeErr(err)
	}
	defer rows.Close()
	var out []xc5.SIPCredentials
	for rows.Next() {
		var c xc5.SIPCredentials
		var path string
		if err := rows.Scan(&c.GUID, &c.Username, &c.HA1MD5, &c.HA1SHA256, &c.LocalHA1MD5, &c.LocalHA1SHA256, &path); err != nil {
			return nil, storeErr(err)
		}
		c.Realm = secret.Realm(c.Username)
		c.Enabled = !pathDisabled(disabled, path, c.GUID)
		out = append(out, c)
	}
	return out, storeErr(rows.Err())
}

// pathDisabled reports whether the account guid, or any account on its
// path, is among disabled.
func pathDisabled(disabled map[string]bool, path, guid string) bool {
	if disabled[guid] {
		return true
	}
	if len(disabled) == 0 {
		return false
	}
	for _, g := range strings.Split(strings.Trim(path, "/"), "/") {
		if disabled[g] {
			return true
		}
	}
	return false
}
