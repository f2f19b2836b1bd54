package sqlstore

import (
	"context"

	"xc5/resource"
)

// ownCode is what the store does for a resource with code of its own
// instead of the generic row of its table (putSimple, delete, get); nil
// members fall back to the generic code.
type ownCode struct {
	put func(s *Store, ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error)
	del func(s *Store, ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string) error
	// read reads one record in q (a view has no row to read).
	read func(ctx context.Context, q execer, scope resource.Scope, id string) (resource.Record, error)
	list func(s *Store, ctx context.Context, q resource.Query, fn func(resource.Record) error) error
	// create checks, in the write's transaction, that owner may have one
	// more record of the resource (a bound the descriptions cannot hold,
	// since it counts rows).
	create func(ctx context.Context, q execer, scope resource.Scope, owner resource.Record) error
}

// own lists the resources with code of their own, each for a reason a
// table cannot say: accounts are the tree itself (paths, passwords,
// mailboxes), numbers move to and from the pool, a HydraAccount is a view
// over an account and its number, a prompt gets its recording code and
// counts against prompt_limit, a fork against MaxForks, a webhook gets a
// generated secret, and an accountresource's grant is checked against
// the caller before anything is read. Keyed by the resource whose records
// they are (resource.Stored: child is account).
var own map[*resource.Resource]ownCode

func init() {
	own = map[*resource.Resource]ownCode{
		resource.Account: {put: (*Store).putAccount, del: (*Store).deleteAccount},
		resource.Number: {
			put: func(s *Store, ctx context.Context, scope resource.Scope, _ *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
				return s.putNumber(ctx, scope, parent, id, in, mode)
			},
			del: func(s *Store, ctx context.Context, scope resource.Scope, _ *resource.Resource, parent, id string) error {
				return s.deleteNumber(ctx, scope, parent, id)
			},
		},
		resource.Hydra: {
			put: func(s *Store, ctx context.Context, _ resource.Scope, _ *resource.Resource, _, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
				return s.putHydra(ctx, id, in, mode)
			},
			del: func(s *Store, ctx context.Context, _ resource.Scope, _ *resource.Resource, _, id string) error {
				return s.deleteHydra(ctx, id)
			},
			read: readHydra,
			list: func(s *Store, ctx context.Context, q resource.Query, fn func(resource.Record) error) error {
				return s.listHydra(ctx, q, fn)
			},
		},
		resource.AccountResource: {put: func(s *Store, ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
			if err := resource.CheckAccountResource(in, scope != ""); err != nil {
				return resource.Record{}, false, err
			}
			return s.putSimple(ctx, scope, r, parent, id, in, mode, nil)
		}},
		resource.Prompt: {
			put: func(s *Store, ctx context.Context, scope resource.Scope, r *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
				return s.putSimple(ctx, scope, r, parent, id, in, mode, groupAccessFor(parent))
			},
			create: func(ctx context.Context, q execer, scope resource.Scope, owner resource.Record) error {
				if scope == "" {
					return nil
				}
				return checkPromptLimit(ctx, q, scope, owner)
			},
		},
		resource.Fork: {create: func(ctx context.Context, q execer, _ resource.Scope, owner resource.Record) error {
			return checkForkCap(ctx, q, owner)
		}},
		resource.Webhook: {put: func(s *Store, ctx context.Context, scope resource.Scope, _ *resource.Resource, parent, id string, in resource.Input, mode resource.PutMode) (resource.Record, bool, error) {
			return s.putWebhook(ctx, scope, parent, id, in, mode)
		}},
	}
}

// ownOf is the code of r's own, zero for a resource that has none.
func ownOf(r *resource.Resource) ownCode { return own[r.Stored()] }
