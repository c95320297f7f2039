package sqlite

import (
	"context"
	"database/sql"

	"github.com/vigilhq/vigil"
)

// queryPage runs a query for one page of limit rows (it asks for limit+1
// to learn whether more follow) and scans each row with scan. what names
// the rows in errors.
func queryPage[T any](ctx context.Context, db *sql.DB, what string, limit int, scan func(scanner) (T, error), query string, args ...any) (rows []T, more bool, err error) {
	rs, err := db.QueryContext(ctx, query, append(args, limit+1)...)
	if err != nil {
		return nil, false, vigil.Unavailable("querying "+what+" failed", err)
	}
	defer rs.Close()
	rows = []T{}
	for rs.Next() {
		v, err := scan(rs)
		if err != nil {
			return nil, false, vigil.Unavailable("reading "+what+" failed", err)
		}
		rows = append(rows, v)
	}
	if err := rs.Err(); err != nil {
		return nil, false, vigil.Unavailable("reading "+what+" failed", err)
	}
	if len(rows) > limit {
		return rows[:limit], true, nil
	}
	return rows, false, nil
}
