package main

import (
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// record is what a peer stores for e: the bytes Vigil's ledger hashes
// (its canonical form, with an id and a creation time given here as
// Vigil's store gives them), so every system writes the same record.
// The peers assign the position themselves, so the sequence is left 0.
func record(e vigil.Event) ([]byte, string, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return nil, "", err
	}
	e.ID, e.CreatedAt = id.String(), time.Now().UTC()
	return ledger.AppendEvent(nil, &e), e.ID, nil
}
