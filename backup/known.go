package backup

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
)

// ReadWitness reads a witness file (a JSON object from workspace name to
// the signed note of its latest checkpoint, which the server keeps apart
// from the database) as known checkpoints for Restore.
func ReadWitness(path string) ([]Known, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var notes map[string]string
	if err := json.Unmarshal(b, &notes); err != nil {
		return nil, fmt.Errorf("backup: %s is not a witness file: %w", path, err)
	}
	var known []Known
	for _, ws := range slices.Sorted(maps.Keys(notes)) {
		known = append(known, Known{Note: []byte(notes[ws]), From: "the witness file " + path})
	}
	return known, nil
}

func sortLosses(ls []Loss) {
	slices.SortFunc(ls, func(a, b Loss) int { return strings.Compare(a.Workspace, b.Workspace) })
}
