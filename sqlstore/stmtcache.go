package sqlstore

import (
	"context"
	"database/sql"
)

// maxStmts bounds a writer connection's statement cache. The store's SQL
// comes from a fixed set of templates, so the bound is only a guard.
const maxStmts = 512

// stmtCache keeps a writer connection's prepared statements: a create
// runs half a dozen statements, and preparing each anew cost as much as
// running it.
type stmtCache struct {
	conn *sql.Conn
	m    map[string]*sql.Stmt
}

func newStmtCache(conn *sql.Conn) *stmtCache {
	return &stmtCache{conn: conn, m: map[string]*sql.Stmt{}}
}

func (c *stmtCache) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st := c.m[q]; st != nil {
		return st, nil
	}
	if len(c.m) >= maxStmts {
		c.close()
	}
	st, err := c.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.m[q] = st
	return st, nil
}

func (c *stmtCache) close() {
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

func (c *stmtCache) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := c.stmt(ctx, q)
	if err != nil {
		return c.conn.ExecContext(ctx, q, args...) // some statements cannot be prepared; run them directly
	}
	return st.ExecContext(ctx, args...)
}

func (c *stmtCache) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := c.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (c *stmtCache) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := c.stmt(ctx, q)
	if err != nil {
		return c.conn.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}
