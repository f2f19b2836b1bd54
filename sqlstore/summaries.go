package sqlstore

import (
	"context"
	"strings"
	"time"
)

// maxSummaryAccounts bounds one query's accounts (its placeholders).
const maxSummaryAccounts = 500

// LiveRegistrations implements xc5.AccountSummaries.
func (s *Store) LiveRegistrations(ctx context.Context, accounts []string, now time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	err := s.perAccounts(ctx, accounts, `SELECT DISTINCT account FROM registrations WHERE expires > ? AND account IN (%s)`,
		sqlTime(now), func(guid string, _ int) { out[guid] = true })
	return out, err
}

// CDRCounts implements xc5.AccountSummaries.
func (s *Store) CDRCounts(ctx context.Context, accounts []string, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	err := s.perAccounts(ctx, accounts, `SELECT account, count(*) FROM cdrs WHERE started >= ? AND account IN (%s) GROUP BY account`,
		sqlTime(since), func(guid string, n int) { out[guid] = n })
	return out, err
}

// perAccounts runs query (a %s for the accounts' placeholders, after one
// leading argument) over the accounts in chunks, calling fn per row of
// an account and, when the query selects one, a count.
func (s *Store) perAccounts(ctx context.Context, accounts []string, query string, first any, fn func(guid string, n int)) error {
	for len(accounts) > 0 {
		chunk := accounts[:min(len(accounts), maxSummaryAccounts)]
		accounts = accounts[len(chunk):]
		args := []any{first}
		for _, a := range chunk {
			args = append(args, a)
		}
		q := strings.Replace(query, "%s", strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ","), 1)
		rows, err := s.reader().QueryContext(ctx, q, args...)
		if err != nil {
			return readError(err, "")
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			var guid string
			n := 1
			if len(cols) == 2 {
				err = rows.Scan(&guid, &n)
			} else {
				err = rows.Scan(&guid)
			}
			if err != nil {
				rows.Close()
				return readError(err, "")
			}
			fn(guid, n)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return readError(err, "")
		}
	}
	return nil
}
