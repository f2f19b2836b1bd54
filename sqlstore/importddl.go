package sqlstore

// On PostgreSQL the import loads the tables without their foreign keys,
// unique constraints and secondary indexes and makes them again once
// every row is in, inside the import's transaction: a foreign key checked row by row is
// a query a row (300,000 of them for 100,000 accounts and 200,000
// numbers), and an index filled row by row is a random insert a row,
// where building it afterwards is one sort. The backend's CPU for that
// import went from about 6.5 s to 3.5 s (docs/benchmarks.md, "Bulk
// import"). The rows were checked before (importKeys: references to
// accounts of the dump, unique keys), and the foreign keys and unique
// constraints are checked again, whole, when they are made.

import (
	"context"
	"fmt"
)

// deferredDDL holds what the import may drop while it loads, found
// before the load; a table's share is dropped when its first rows come
// (forTable), so that the tables a dump leaves empty keep theirs (making
// an index again costs a file sync even on an empty table).
type deferredDDL struct {
	items []deferItem
}

// deferItem is one foreign key ('f', on table, pointing at ref), unique
// constraint ('u') or index ('i').
type deferItem struct {
	kind         byte
	table, ref   string
	drop, create string
	dropped      bool
}

// pgDeferredDDL reads, from the catalog (so that it follows the
// migrations), the exported tables' foreign keys (and those of other
// tables pointing at them), unique constraints and indexes that back no
// constraint. Primary keys stay (ids arrive in order, so their index
// grows at one end).
func pgDeferredDDL(ctx context.Context, q execer) (*deferredDDL, error) {
	const query = `SELECT 'f', t.relname, r.relname, format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, c.conname),
			format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname, pg_get_constraintdef(c.oid))
			FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
			WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND (t.relname = ANY(?) OR r.relname = ANY(?))
		UNION ALL SELECT 'u', t.relname, '', format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, c.conname),
			format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname, pg_get_constraintdef(c.oid))
			FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
			WHERE c.contype = 'u' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(?)
		UNION ALL SELECT 'i', t.relname, '', format('DROP INDEX %I', i.relname), pg_get_indexdef(x.indexrelid)
			FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
			WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(?)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
		ORDER BY 1, 2, 4`
	rows, err := q.QueryContext(ctx, query, exportTables, exportTables, exportTables, exportTables)
	if err != nil {
		return nil, fmt.Errorf("import: the constraints and indexes to defer: %w", err)
	}
	defer rows.Close()
	d := &deferredDDL{}
	for rows.Next() {
		var it deferItem
		var kind string
		if err := rows.Scan(&kind, &it.table, &it.ref, &it.drop, &it.create); err != nil {
			return nil, err
		}
		it.kind = kind[0]
		d.items = append(d.items, it)
	}
	return d, rows.Err()
}

// forTable drops a table's deferred foreign keys, unique constraints and
// indexes, and first the foreign keys pointing at it (they stand on its
// unique constraints).
func (d *deferredDDL) forTable(ctx context.Context, q execer, table string) error {
	for _, kind := range []byte{'f', 'u', 'i'} {
		for i := range d.items {
			it := &d.items[i]
			if it.kind != kind || it.dropped || (it.table != table && !(kind == 'f' && it.ref == table)) {
				continue
			}
			if err := execAll(ctx, q, []string{it.drop}); err != nil {
				return err
			}
			it.dropped = true
		}
	}
	return nil
}

// restore makes again what forTable dropped: indexes, unique
// constraints, then the foreign keys that stand on them.
func (d *deferredDDL) restore(ctx context.Context, q execer) error {
	for _, kind := range []byte{'i', 'u', 'f'} {
		for _, it := range d.items {
			if it.kind == kind && it.dropped {
				if err := execAll(ctx, q, []string{it.create}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func execAll(ctx context.Context, q execer, stmts []string) error {
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("import: %s: %w", s, mapError(err))
		}
	}
	return nil
}
