package sqlite

import (
	"context"

	"xc5/resource"
)

// AddCDR writes a call detail record for an account. vals holds the CDR
// resource's fields (direction, from, to, started, answered, ended,
// duration, outcome, answered_by, code, call_id).
func (s *Store) AddCDR(ctx context.Context, accountGUID string, vals map[string]any) error {
	t := tables[resource.CDR]
	return s.w.do(ctx, func(ctx context.Context, q execer) error {
		return t.insert(ctx, q, resource.NewGUID(), accountGUID, nil, merge(resource.CDR.Defaults(), vals))
	})
}
