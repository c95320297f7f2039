package storetest_test

import (
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/storetest"
)

func TestMemoryLog(t *testing.T) {
	storetest.RunLogStorage(t, func(t *testing.T) func() vigil.LogStorage {
		var m *storetest.MemoryLog
		return func() vigil.LogStorage {
			if m == nil {
				m = storetest.NewMemoryLog()
			} else {
				m = m.Reopen()
			}
			return m
		}
	})
}
