package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
	"github.com/vigilhq/vigil/ledger"
)

// An idempotency key names one event of one tenant (or of no tenant) in
// one workspace. Sent again with the same content (ledger.AppendContent:
// what the client sent, after normalisation) it answers the first event,
// as a duplicate; sent with other content it is refused with ECONFLICT
// naming the first event, and nothing of the request is stored. The scope
// includes the tenant, so the first event is always the caller's own
// tenant's: no answer names another tenant's event.
//
// The key projection answers for the events it has applied; the
// sequencer remembers the keys of the records appended since (unapplied),
// and forgets them once the projection has them. Lookups and forgetting
// both happen on the sequencer's goroutine, so a key is always in one of
// the two.

type idemKey struct {
	ws, tenant, key string
}

func keyOf(ws string, e *vigil.Event) idemKey { return idemKey{ws, e.TenantID, e.IdempotencyKey} }

// idemEntry is the first event of a key: its result and content digest.
type idemEntry struct {
	res    vigil.AppendResult
	digest vigil.Hash
}

// unapplied is the sequencer's memory of keys the key projection does
// not have yet, in log order per workspace so they are forgotten in order.
type unapplied struct {
	entries map[idemKey]idemEntry
	order   map[string][]idemKey
}

func newUnapplied() *unapplied {
	return &unapplied{entries: map[idemKey]idemEntry{}, order: map[string][]idemKey{}}
}

func (u *unapplied) add(k idemKey, en idemEntry) {
	u.entries[k] = en
	u.order[k.ws] = append(u.order[k.ws], k)
}

// forget drops the keys of records before cursor in a workspace: the key
// projection answers for them now.
func (u *unapplied) forget(ws string, cursor int64) {
	keys := u.order[ws]
	n := 0
	for n < len(keys) && u.entries[keys[n]].res.Sequence < cursor {
		delete(u.entries, keys[n])
		n++
	}
	if n > 0 {
		u.order[ws] = append(keys[:0:0], keys[n:]...)
	}
}

// rememberUnappliedKeys reads the records the key projection has not
// applied, at start, so a retry of one of them is still a duplicate.
func (e *Engine) rememberUnappliedKeys(ctx context.Context) error {
	e.unapplied = newUnapplied()
	for ws, head := range e.heads {
		for from := e.keys.cursors[ws]; from < head; {
			recs, err := e.cfg.Log.Read(ctx, ws, from, e.cfg.ProjectionBatch)
			if err != nil {
				return err
			}
			if len(recs) == 0 {
				return fmt.Errorf("engine: %s's log ends at %d, before its head %d", ws, from, head)
			}
			for _, rec := range recs {
				ev, err := crypt.OpenRecord(ctx, e.cfg.Keyring, &rec)
				if err != nil {
					return fmt.Errorf("engine: record %d of %s: %w", rec.Sequence, ws, err)
				}
				if ev.IdempotencyKey == "" {
					continue
				}
				e.unapplied.add(keyOf(ws, &ev), idemEntry{vigil.AppendResult{ID: ev.ID, Sequence: ev.Sequence}, storedDigest(ev, true, false)})
			}
			from += int64(len(recs))
		}
	}
	return nil
}

// storedDigest is the content digest of a stored event: what its client
// sent. An occurred_at equal to created_at is the server's default (the
// sequencer copies created_at into it; a client cannot know created_at to
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

// resolveKeys decides, before anything of r is appended, what each
// event's idempotency key makes of it: a duplicate of an event stored
// before (its result is filled in, Duplicate set), a repeat of an earlier
// event of r (repeats[i] is that event's index), or new (repeats[i] is
// -1). A key reused with other content refuses the whole request
// (r.refused), naming every such event. seen holds the keys of the
// group's earlier requests. The error is a storage failure.
func (e *Engine) resolveKeys(r *request, seen map[idemKey]idemEntry) ([]int, error) {
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
		ev := &r.events[i]
		if ev.IdempotencyKey == "" {
			continue
		}
		k := keyOf(r.ws, ev)
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
			prev, ok = e.unapplied.entries[k]
		}
		if !ok {
			stored, originKnown, found, err := e.cfg.Keys.IdempotentEvent(r.ctx, r.ws, ev.TenantID, ev.IdempotencyKey)
			if err != nil {
				return nil, err
			}
			if !found {
				continue
			}
			clientAddress := ev.IPAddress != "" && !ev.IPFromConnection
			prev = idemEntry{vigil.AppendResult{ID: stored.ID, Sequence: stored.Sequence}, storedDigest(stored, originKnown, clientAddress)}
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
