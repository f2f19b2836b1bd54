package sqlstore

import (
	"context"
	"fmt"

	"xc5/resource"
	"xc5/secret"
)

// Seed adds synthetic data for load tests: companies seed-N.test with
// users uM@seed-N.test (ten users a company) and numbers 6480000000+i,
// all sharing one password hash (hashing each would take hours). It
// writes in large transactions and is meant for empty test databases.
func (s *Store) Seed(ctx context.Context, accounts, numbers int, password string) error {
	hash := secret.Hash(password)
	const chunk = 5000
	var guids []string
	var company, companyPath string
	for start := 0; start < accounts; start += chunk {
		err := s.w.doBulk(ctx, func(ctx context.Context, q execer) error {
			for i := start; i < accounts && i < start+chunk; i++ {
				guid := resource.NewGUID()
				var username, parent, path string
				if i%10 == 0 {
					username, path = fmt.Sprintf("seed-%d.test", i/10), "/"+guid+"/"
					company, companyPath = guid, path
				} else {
					username, parent, path = fmt.Sprintf("u%d@seed-%d.test", i%10, i/10), company, companyPath+guid+"/"
				}
				d := digestColumns(username, password)
				if _, err := q.ExecContext(ctx, `INSERT INTO accounts (guid, username, parent, path, password_hash, ha1_md5, ha1_sha256, ha1_local_md5, ha1_local_sha256)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, guid, username, nullable(parent), path, hash,
					d["ha1_md5"], d["ha1_sha256"], d["ha1_local_md5"], d["ha1_local_sha256"]); err != nil {
					return err
				}
				guids = append(guids, guid)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if len(guids) == 0 {
		return nil
	}
	for start := 0; start < numbers; start += chunk {
		err := s.w.doBulk(ctx, func(ctx context.Context, q execer) error {
			for i := start; i < numbers && i < start+chunk; i++ {
				if _, err := q.ExecContext(ctx, `INSERT INTO numbers (guid, account, number) VALUES (?, ?, ?)`,
					resource.NewGUID(), guids[i%len(guids)], fmt.Sprint(6480000000+i)); err != nil {
					return mapError(err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
