package sqlite

import (
	"encoding/json"
	"fmt"

	"github.com/vigilhq/vigil"
)

// storedTarget is the stored JSON of a target. Metadata is already
// canonical, so it is kept as raw bytes.
type storedTarget struct {
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata,omitempty"`
	Name     string          `json:"name,omitempty"`
	Type     string          `json:"type"`
}

func targetsJSON(ts []vigil.Target) any {
	if len(ts) == 0 {
		return nil
	}
	st := make([]storedTarget, len(ts))
	for i, t := range ts {
		st[i] = storedTarget{ID: t.ID, Metadata: t.Metadata, Name: t.Name, Type: t.Type}
	}
	b, err := json.Marshal(st)
	if err != nil {
		// Every field is a string or canonical JSON: this cannot fail.
		panic(fmt.Sprintf("sqlite: encoding targets: %v", err))
	}
	return string(b)
}

func parseTargets(s string) ([]vigil.Target, error) {
	if s == "" {
		return nil, nil
	}
	var st []storedTarget
	if err := json.Unmarshal([]byte(s), &st); err != nil {
		return nil, fmt.Errorf("sqlite: stored targets: %w", err)
	}
	ts := make([]vigil.Target, len(st))
	for i, t := range st {
		ts[i] = vigil.Target{Type: t.Type, ID: t.ID, Name: t.Name, Metadata: t.Metadata}
	}
	return ts, nil
}
