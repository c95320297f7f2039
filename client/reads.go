package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/vigilhq/vigil/api"
)

// StoredEvent is an event as the server stored it: the Event as it was
// sent (with the key and time Track filled in), and what the server
// added. Numbers in metadata are json.Number, so that large integers read
// back exactly.
type StoredEvent struct {
	Event
	ID                string
	Sequence          int64 // position in the workspace's ledger
	CreatedAt         time.Time
	IPCountry         string
	IPCity            string
	IPRegion          string
	EventHash         string
	PreviousEventHash string
}

// Query filters Events; empty fields do not filter. From is inclusive and
// To exclusive, on OccurredAt.
type Query struct {
	ActorID, Action, Resource, ResourceID string
	TenantID, SessionID, PatientID        string
	TargetType, TargetID                  string
	PurposeOfUse                          string
	Outcome                               Outcome
	Search                                string // substring of actor, action or resource
	From, To                              time.Time
	PageSize                              int // events per request, 1 to 100 (default 100)
}

func (q Query) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{
		"actor_id": q.ActorID, "action": q.Action, "resource": q.Resource, "resource_id": q.ResourceID,
		"tenant_id": q.TenantID, "session_id": q.SessionID, "patient_id": q.PatientID,
		"target_type": q.TargetType, "target_id": q.TargetID, "purpose_of_use": q.PurposeOfUse,
		"outcome": string(q.Outcome), "search": q.Search,
	} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if !q.From.IsZero() {
		v.Set("from", q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.To.IsZero() {
		v.Set("to", q.To.UTC().Format(time.RFC3339Nano))
	}
	size := q.PageSize
	if size <= 0 || size > 100 {
		size = 100
	}
	v.Set("limit", strconv.Itoa(size))
	return v
}

// Events yields every event matching q, newest first, fetching pages as
// the loop goes and following the server's cursors (stable under
// concurrent writes). An error ends the sequence: it is yielded once, with
// a zero event. Every page read is itself recorded by the server
// (vigil.events.query), as HIPAA wants of reads of the trail. Needs an
// auditor key.
func (c *Client) Events(ctx context.Context, q Query) iter.Seq2[StoredEvent, error] {
	return func(yield func(StoredEvent, error) bool) {
		v := q.values()
		for {
			var page api.EventList
			if err := c.do(ctx, "GET", "/api/v1/events", v, nil, &page); err != nil {
				yield(StoredEvent{}, err)
				return
			}
			for _, w := range page.Data {
				e, err := fromWire(w)
				if !yield(e, err) || err != nil {
					return
				}
			}
			if !page.Pagination.HasMore || page.Pagination.NextCursor == nil {
				return
			}
			v.Set("cursor", *page.Pagination.NextCursor)
		}
	}
}

// Event reads one event by id; an unknown id is an *Error with Status
// 404. Needs an auditor key.
func (c *Client) Event(ctx context.Context, id string) (StoredEvent, error) {
	var d api.Data[api.Event]
	if err := c.do(ctx, "GET", "/api/v1/events/"+url.PathEscape(id), nil, nil, &d); err != nil {
		return StoredEvent{}, err
	}
	return fromWire(d.Data)
}

// fromWire converts the read shape.
func fromWire(w api.Event) (StoredEvent, error) {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	e := StoredEvent{
		Event: Event{
			ActorID: w.ActorID, ActorName: s(w.ActorName), ActorType: s(w.ActorType),
			Action: w.Action, ActionCategory: s(w.ActionCategory),
			TenantID: s(w.TenantID), SessionID: s(w.SessionID),
			PatientID: s(w.PatientID), PurposeOfUse: s(w.PurposeOfUse), Outcome: Outcome(w.Outcome),
			IPAddress: s(w.IPAddress), UserAgent: s(w.UserAgent), Source: s(w.Source),
			IdempotencyKey: s(w.IdempotencyKey), Version: s(w.Version),
		},
		ID: w.ID, Sequence: w.Sequence,
		IPCountry: s(w.IPCountry), IPCity: s(w.IPCity), IPRegion: s(w.IPRegion),
	}
	if w.Resource != nil {
		e.Resource = Resource{Type: s(w.Resource.Type), ID: s(w.Resource.ID), Name: s(w.Resource.Name)}
	}
	if w.Integrity != nil {
		e.EventHash, e.PreviousEventHash = w.Integrity.EventHash, s(w.Integrity.PreviousEventHash)
	}
	var err error
	if e.Metadata, err = unmarshalMeta(w.Metadata); err != nil {
		return e, fmt.Errorf("client: event %s: metadata: %w", w.ID, err)
	}
	for _, t := range w.Targets {
		m, err := unmarshalMeta(t.Metadata)
		if err != nil {
			return e, fmt.Errorf("client: event %s: target metadata: %w", w.ID, err)
		}
		e.Targets = append(e.Targets, Target{Type: t.Type, ID: t.ID, Name: t.Name, Metadata: m})
	}
	for _, f := range []struct {
		dst  *time.Time
		text string
	}{{&e.OccurredAt, w.OccurredAt}, {&e.CreatedAt, w.CreatedAt}} {
		if f.text == "" {
			continue
		}
		if *f.dst, err = time.Parse(time.RFC3339Nano, f.text); err != nil {
			return e, fmt.Errorf("client: event %s: %w", w.ID, err)
		}
	}
	return e, nil
}

func unmarshalMeta(raw json.RawMessage) (map[string]any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}
