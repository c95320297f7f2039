package sqlite

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// An idempotency key names one event of one tenant (or of no tenant) in
// one workspace. Sent again with the same content (ledger.AppendContent:
// what the client sent, after normalisation) it answers the first event,
// as a duplicate; sent with other content it is refused with ECONFLICT
// naming the first event, and nothing of the request is stored. The scope
// includes the tenant, so the first event is always the caller's own
// tenant's: no answer names another tenant's event.

type idemKey struct {
	ws          int64
	tenant, key string
}

func keyOf(ws int64, e *vigil.Event) idemKey { return idemKey{ws, e.TenantID, e.IdempotencyKey} }

// idemEntry is an event written earlier in the same transaction.
type idemEntry struct {
	res    vigil.AppendResult
	digest vigil.Hash
}

// contentDigests returns the content digest of each event that has an
// idempotency key (zero for the others), or nil when none has one. It
// runs in the caller's goroutine, like preparation.
func contentDigests(events []vigil.Event) []vigil.Hash {
	var out []vigil.Hash
	var buf []byte
	for i := range events {
		if events[i].IdempotencyKey == "" {
			continue
		}
		if out == nil {
			out = make([]vigil.Hash, len(events))
		}
		buf = ledger.AppendContent(buf[:0], &events[i])
		out[i] = sha256.Sum256(buf)
	}
	return out
}

// storedDigest is the content digest of a stored event: what its client
// sent. An occurred_at equal to created_at is the server's default (the
// writer copies created_at into it; a client cannot know created_at to
// the nanosecond beforehand). For events stored before the origin of the
// address was kept (originKnown false), the address counts as the
// connection's when the new event carries none of its own, and as the
// client's otherwise: a retry without an address is not refused for the
// address its first attempt arrived from.
func storedDigest(e vigil.Event, originKnown, clientAddress bool) vigil.Hash {
	if e.OccurredAt.Equal(e.CreatedAt) {
		e.OccurredAt = time.Time{}
	}
	if !originKnown {
		e.IPFromConnection = !clientAddress
	}
	return ledger.ContentDigest(&e)
}

// resolveKeys decides, before anything of r is written, what each event's
// idempotency key makes of it: a duplicate of an event stored before (its
// result is filled in, Duplicate set), a repeat of an earlier event of r
// (repeats[i] is that event's index), or new (repeats[i] is -1). A key
// reused with other content refuses the whole request (r.refused), naming
// every such event. The error is a storage failure.
func resolveKeys(ctx context.Context, ins *inserter, r *appendReq, seen map[idemKey]idemEntry) ([]int, error) {
	repeats := make([]int, len(r.events))
	var first map[idemKey]int // the first event of r with each key
	var conflicts []vigil.ErrorDetail
	conflict := func(i int, msg string) {
		d := vigil.ErrorDetail{Field: "idempotency_key", Message: msg}
		if len(r.events) > 1 {
			d.Index = &i
		}
		conflicts = append(conflicts, d)
	}
	for i := range r.events {
		repeats[i] = -1
		e := &r.events[i]
		if e.IdempotencyKey == "" {
			continue
		}
		k := keyOf(r.ws, e)
		if j, ok := first[k]; ok {
			if r.digests[j] != r.digests[i] {
				conflict(i, fmt.Sprintf("repeats the key of events[%d] with different content", j))
			}
			repeats[i] = j
			continue
		}
		if first == nil {
			first = map[idemKey]int{}
		}
		first[k] = i
		prev, ok := seen[k]
		if !ok {
			stored, originKnown, found, err := ins.findIdempotent(ctx, r.ws, r.wsName, e.TenantID, e.IdempotencyKey)
			if err != nil {
				return nil, err
			}
			if !found {
				continue
			}
			clientAddress := e.IPAddress != "" && !e.IPFromConnection
			prev = idemEntry{vigil.AppendResult{ID: stored.ID, Sequence: stored.Sequence}, storedDigest(stored, originKnown, clientAddress)}
			if originKnown {
				seen[k] = prev // else its digest depends on the event compared
			}
		}
		if prev.digest != r.digests[i] {
			conflict(i, fmt.Sprintf("was already used for the event at sequence %d (%s), whose content differs", prev.res.Sequence, prev.res.ID))
			continue
		}
		r.results[i] = vigil.AppendResult{ID: prev.res.ID, Sequence: prev.res.Sequence, Duplicate: true}
	}
	if len(conflicts) > 0 {
		r.refused = conflictError(conflicts)
	}
	return repeats, nil
}

// conflictError refuses a request whose idempotency keys were reused with
// other content.
func conflictError(details []vigil.ErrorDetail) *vigil.Error {
	msg := "idempotency keys were reused with different content; nothing was stored"
	if len(details) == 1 {
		msg = "idempotency_key " + details[0].Message + "; nothing was stored"
	}
	return &vigil.Error{Code: vigil.ECONFLICT, Message: msg, Details: details}
}
