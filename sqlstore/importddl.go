package sqlstore

// On PostgreSQL the import loads the tables without their foreign keys
// and secondary indexes and makes them again once every row is in,
// inside the import's transaction: a foreign key checked row by row is
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
	"strings"
)

// deferredDDL is what the import drops before loading (drop) and makes
// again after (create: indexes, unique constraints, foreign keys).
type deferredDDL struct{ drop, create []string }

// pgDeferredDDL reads, from the catalog (so that it follows the
// migrations), the exported tables' foreign keys (and those of other
// tables pointing at them), unique constraints and indexes that back no
// constraint. Primary keys stay (ids arrive in
// order, so their index grows at one end). Foreign keys are dropped
// first and made last: they stand on the unique constraints.
func pgDeferredDDL(ctx context.Context, q execer) (deferredDDL, error) {
	const scope = ` t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(?) `
	parts := []string{ // in the order of dropping
		`SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, c.conname),
			format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname, pg_get_constraintdef(c.oid))
			FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
			WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace
			AND (t.relname = ANY(?) OR c.confrelid IN (SELECT oid FROM pg_class WHERE relnamespace = t.relnamespace AND relname = ANY(?)))
			ORDER BY t.relname, c.conname`,
		`SELECT format('ALTER TABLE %I DROP CONSTRAINT %I', t.relname, c.conname),
			format('ALTER TABLE %I ADD CONSTRAINT %I %s', t.relname, c.conname, pg_get_constraintdef(c.oid))
			FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
			WHERE c.contype = 'u' AND` + scope + `ORDER BY t.relname, c.conname`,
		`SELECT format('DROP INDEX %I', i.relname), pg_get_indexdef(x.indexrelid)
			FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
			WHERE` + scope + `AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
			ORDER BY i.relname`,
	}
	var d deferredDDL
	for _, query := range parts {
		args := []any{exportTables}
		if strings.Count(query, "?") == 2 {
			args = append(args, exportTables)
		}
		rows, err := q.QueryContext(ctx, query, args...)
		if err != nil {
			return d, fmt.Errorf("import: the constraints and indexes to defer: %w", err)
		}
		var creates []string
		for rows.Next() {
			var drop, create string
			if err := rows.Scan(&drop, &create); err != nil {
				rows.Close()
				return d, err
			}
			d.drop = append(d.drop, drop)
			creates = append(creates, create)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return d, err
		}
		d.create = append(creates, d.create...) // made in the reverse order
	}
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
