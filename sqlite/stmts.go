package sqlite

import (
	"context"
	"database/sql"
	"fmt"
)

// stmtCache keeps statements prepared on the single write connection for
// the life of the store. They are prepared before any transaction begins
// (prepare): with one connection, a prepare outside the transaction that
// holds it would wait for it forever.
type stmtCache struct {
	stmts map[string]*sql.Stmt
}

func (c *stmtCache) prepare(ctx context.Context, db *sql.DB, queries []string) error {
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	for _, q := range queries {
		if _, ok := c.stmts[q]; ok {
			continue
		}
		s, err := db.PrepareContext(ctx, q)
		if err != nil {
			return err
		}
		c.stmts[q] = s
	}
	return nil
}

func (c *stmtCache) get(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	return nil, fmt.Errorf("sqlite: statement not prepared: %.40s", query)
}

func (c *stmtCache) close() {
	for _, s := range c.stmts {
		s.Close()
	}
	c.stmts = nil
}
