package client

import (
	"context"
	"iter"
	"net/url"
	"strconv"
	"time"

	"github.com/vigilhq/vigil/api"
)

// StoredEvent is an event as the server serves it.
type StoredEvent = api.Event

// Query filters Events. Empty fields do not filter.
type Query struct {
	ActorID, Action, Resource, ResourceID, TenantID, SessionID string
	TargetType, TargetID, Search, PatientID, PurposeOfUse      string
	Outcome                                                    Outcome
	From, To                                                   time.Time
	PageSize                                                   int // events per request, 1-100 (default 100)
}

func (q Query) values() url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("actor_id", q.ActorID)
	set("action", q.Action)
	set("resource", q.Resource)
	set("resource_id", q.ResourceID)
	set("tenant_id", q.TenantID)
	set("session_id", q.SessionID)
	set("target_type", q.TargetType)
	set("target_id", q.TargetID)
	set("search", q.Search)
	set("patient_id", q.PatientID)
	set("purpose_of_use", q.PurposeOfUse)
	set("outcome", string(q.Outcome))
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

// Events yields every event matching q, newest first, following the
// server's cursors. It stops at the first error, which it yields.
func (c *Client) Events(ctx context.Context, q Query) iter.Seq2[StoredEvent, error] {
	return func(yield func(StoredEvent, error) bool) {
		v := q.values()
		for {
			var page api.EventList
			if err := c.do(ctx, "GET", "/api/v1/events", v, nil, &page); err != nil {
				yield(StoredEvent{}, err)
				return
			}
			for _, e := range page.Data {
				if !yield(e, nil) {
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

// Event reads one event.
func (c *Client) Event(ctx context.Context, id string) (StoredEvent, error) {
	var d api.Data[api.Event]
	err := c.do(ctx, "GET", "/api/v1/events/"+url.PathEscape(id), nil, nil, &d)
	return d.Data, err
}

// VerifyOptions bound a server-side verification to sequences [From, To).
type VerifyOptions struct {
	From, To, Limit int64
}

// Verify asks the server to re-verify its stored events against the
// ledger. For verification that does not trust the server, use a bundle
// and `vigil verify`.
func (c *Client) Verify(ctx context.Context, o VerifyOptions) (api.Verification, error) {
	v := url.Values{}
	if o.From > 0 {
		v.Set("from", strconv.FormatInt(o.From, 10))
	}
	if o.To > 0 {
		v.Set("to", strconv.FormatInt(o.To, 10))
	}
	if o.Limit > 0 {
		v.Set("limit", strconv.FormatInt(o.Limit, 10))
	}
	var d api.Data[api.Verification]
	err := c.do(ctx, "GET", "/api/v1/verify", v, nil, &d)
	return d.Data, err
}

// Proof returns the inclusion proof of an event in the tree of treeSize
// (0: the latest checkpoint's).
func (c *Client) Proof(ctx context.Context, id string, treeSize int64) (api.Proof, error) {
	v := url.Values{}
	if treeSize > 0 {
		v.Set("tree_size", strconv.FormatInt(treeSize, 10))
	}
	var d api.Data[api.Proof]
	err := c.do(ctx, "GET", "/api/v1/events/"+url.PathEscape(id)+"/proof", v, nil, &d)
	return d.Data, err
}

// Checkpoint returns the latest signed checkpoint note (size < 0) or the
// one kept for size.
func (c *Client) Checkpoint(ctx context.Context, size int64) ([]byte, error) {
	v := url.Values{}
	if size >= 0 {
		v.Set("size", strconv.FormatInt(size, 10))
	}
	var note []byte
	err := c.do(ctx, "GET", "/api/v1/ledger/checkpoint", v, nil, &note)
	return note, err
}

// Consistency returns the proof that the tree of second leaves extends the
// tree of first leaves.
func (c *Client) Consistency(ctx context.Context, first, second int64) (api.Consistency, error) {
	v := url.Values{"first": {strconv.FormatInt(first, 10)}, "second": {strconv.FormatInt(second, 10)}}
	var d api.Data[api.Consistency]
	err := c.do(ctx, "GET", "/api/v1/ledger/consistency", v, nil, &d)
	return d.Data, err
}
