package sqlite

import (
	"context"
	"errors"

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

// CDR is one call detail record for AddCDRs.
type CDR struct {
	Account string         // the account's GUID
	Values  map[string]any // as for AddCDR
}

// AddCDRs writes several call detail records, in order, in one write (one
// commit): what the SIP service does with the records of the calls that
// ended in the last moment. When one fails (its account was deleted),
// the others are written one by one.
func (s *Store) AddCDRs(ctx context.Context, recs []CDR) error {
	t := tables[resource.CDR]
	err := s.w.do(ctx, func(ctx context.Context, q execer) error {
		for _, r := range recs {
			if err := t.insert(ctx, q, resource.NewGUID(), r.Account, nil, merge(resource.CDR.Defaults(), r.Values)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(recs) == 1 {
		return err
	}
	var errs []error
	for _, r := range recs {
		if err := s.AddCDR(ctx, r.Account, r.Values); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
