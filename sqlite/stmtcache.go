package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared read statements by their SQL. Parsing and
// planning a statement costs the pure-Go driver more than running a small
// indexed look-up, and the alert rules' look-ups run several times per
// event with a handful of distinct texts.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// readStmt returns the prepared form of query on the read pool.
func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c := &db.stmts
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stmts[query]; ok {
		return s, nil
	}
	s, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[query] = s
	return s, nil
}
