package sqlite

import (
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// prepareEvent validates a client's event and brings it to stored form
// through vigil.Prepare (metadata canonical, exactly what the ledger
// hashes), then adds what the server knows of it. It runs in the caller's
// goroutine so the writer only writes.
func prepareEvent(e vigil.Event, enrich func(*vigil.Event)) (vigil.Event, error) {
	e, err := vigil.Prepare(e, ledger.Canonicalize)
	if err != nil {
		return e, err
	}
	// Enrichment is the server's: whatever a caller put there is replaced.
	e.IPCountry, e.IPCity, e.IPRegion = "", "", ""
	if enrich != nil && e.IPAddress != "" {
		enrich(&e)
	}
	return e, nil
}
