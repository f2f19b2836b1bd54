package sqlstore

// On PostgreSQL the import loads the tables without their foreign keys
// and secondary indexes and makes them again once every row is in,
// inside the import's transaction: a foreign key checked row by row is
// a query a row (300,000 of them for 100,000 accounts and 200,000
// numbers), and an index filled row by row is a random insert a row,
// where building it afterwards is one sort. The backend's CPU for that
// import went from 6.5 s to about 3 s (docs/benchmarks.md, "Bulk
// import"). The rows were checked before (importKeys: references to
// accounts of the dump, unique keys), and the foreign keys and unique
// indexes are checked again, whole, when they are made.

import (
	"context"
	"fmt"
)

// deferredDDL is what the import drops before loading (drop) and makes
// again after (create, in order: indexes, then foreign keys).
type deferredDDL struct{ drop, create []string }

// pgDeferredDDL reads, from the catalog (so that it follows the
// migrations), the foreign keys of the exported tables and their
// indexes that back no constraint. Primary keys and unique constraints
// stay: foreign keys point at them, and ids arrive in order.
func pgDeferredDDL(ctx context.Context, q execer) (deferredDDL, error) {
	var d deferredDDL
	var fkeys []string
	for _, part := range []struct {
		query string
		isFK  bool
	}{
		{`SELECT format('DROP INDEX %I', i.relname), pg_get_indexdef(x.indexrelid)
			FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
			WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(?)
			AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
			ORDER BY i.relname`, false},
		{`SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, c.conname),
			format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname, pg_get_constraintdef(c.oid))
			FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
			WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(?)
			ORDER BY t.relname, c.conname`, true},
	} {
		rows, err := q.QueryContext(ctx, part.query, exportTables)
		if err != nil {
			return d, fmt.Errorf("import: the indexes and foreign keys to defer: %w", err)
		}
		for rows.Next() {
			var drop, create string
			if err := rows.Scan(&drop, &create); err != nil {
				rows.Close()
				return d, err
			}
			d.drop = append(d.drop, drop)
			if part.isFK {
				fkeys = append(fkeys, create)
			} else {
				d.create = append(d.create, create)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return d, err
		}
	}
	d.create = append(d.create, fkeys...) // validated against the indexes made before
	return d, nil
}

func execAll(ctx context.Context, q execer, stmts []string) error {
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("import: %s: %w", s, mapError(err))
		}
	}
	return nil
}
