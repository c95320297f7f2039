package sqlite

import "strings"

// isUnique reports whether err is SQLite refusing a row that would
// duplicate a unique key: a conflict with stored state (ECONFLICT), not a
// storage failure to retry.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
