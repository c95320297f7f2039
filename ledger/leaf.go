package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// LeafVersion is the format version of the canonical event this package
// writes. The leaf's "v" member carries it, so a later format (version 2
// will cover sensitive fields as ciphertext, so proofs survive the
// destruction of their keys) is an addition beside this one, not a rewrite.
const LeafVersion = 1

// TimeLayout is the fixed-width UTC layout of times in the leaf.
const TimeLayout = "2006-01-02T15:04:05.000000000Z"

// AppendEvent appends the canonical form (RFC 8785) of every stored field
// of e: the bytes that the Merkle leaf hashes. Absent (empty) fields are
// omitted. Metadata is stored canonical already and is copied as is. The
// members are written in RFC 8785 key order by hand: this runs once per
// event on ingest and on every re-verification.
func AppendEvent(dst []byte, e *vigil.Event) []byte {
	w := leafWriter{buf: dst}
	w.buf = append(w.buf, '{')
	w.str("action", e.Action)
	w.str("action_category", e.ActionCategory)
	w.str("actor_id", e.ActorID)
	w.str("actor_name", e.ActorName)
	w.str("actor_type", e.ActorType)
	w.time("created_at", e.CreatedAt)
	w.str("id", e.ID)
	w.str("idempotency_key", e.IdempotencyKey)
	w.str("ip_address", e.IPAddress)
	w.str("ip_city", e.IPCity)
	w.str("ip_country", e.IPCountry)
	w.str("ip_region", e.IPRegion)
	w.raw("metadata", e.Metadata)
	w.time("occurred_at", e.OccurredAt)
	w.str("outcome", string(e.Outcome))
	w.str("patient_id", e.PatientID)
	w.str("purpose_of_use", e.PurposeOfUse)
	w.str("resource", e.Resource)
	w.str("resource_id", e.ResourceID)
	w.str("resource_name", e.ResourceName)
	w.key("sequence")
	w.buf = strconv.AppendInt(w.buf, e.Sequence, 10)
	w.str("session_id", e.SessionID)
	w.str("source", e.Source)
	if len(e.Targets) > 0 {
		w.key("targets")
		w.buf = append(w.buf, '[')
		for i, t := range e.Targets {
			if i > 0 {
				w.buf = append(w.buf, ',')
			}
			tw := leafWriter{buf: append(w.buf, '{')}
			tw.str("id", t.ID)
			tw.raw("metadata", t.Metadata)
			tw.str("name", t.Name)
			tw.str("type", t.Type)
			w.buf = append(tw.buf, '}')
		}
		w.buf = append(w.buf, ']')
	}
	w.str("tenant_id", e.TenantID)
	w.str("user_agent", e.UserAgent)
	w.key("v")
	w.buf = strconv.AppendInt(w.buf, LeafVersion, 10)
	w.str("version", e.Version)
	w.str("workspace", e.Workspace)
	return append(w.buf, '}')
}

type leafWriter struct {
	buf   []byte
	items int
}

func (w *leafWriter) key(k string) {
	if w.items > 0 {
		w.buf = append(w.buf, ',')
	}
	w.items++
	w.buf = append(w.buf, '"')
	w.buf = append(w.buf, k...)
	w.buf = append(w.buf, '"', ':')
}

func (w *leafWriter) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.buf = appendString(w.buf, v)
}

// time writes a time in the fixed layout, which needs no escaping.
func (w *leafWriter) time(k string, t time.Time) {
	w.key(k)
	w.buf = append(w.buf, '"')
	w.buf = t.UTC().AppendFormat(w.buf, TimeLayout)
	w.buf = append(w.buf, '"')
}

func (w *leafWriter) raw(k string, v []byte) {
	if len(v) == 0 {
		return
	}
	w.key(k)
	w.buf = append(w.buf, v...)
}

// LeafHash is the RFC 6962 leaf hash of canonical bytes:
// SHA-256(0x00 || canonical).
func LeafHash(canonical []byte) vigil.Hash { return vigil.Hash(tlog.RecordHash(canonical)) }

// leafJSON is the strict decoding of a version 1 leaf.
type leafJSON struct {
	V              int             `json:"v"`
	Workspace      string          `json:"workspace"`
	Sequence       *int64          `json:"sequence"`
	ID             string          `json:"id"`
	CreatedAt      string          `json:"created_at"`
	OccurredAt     string          `json:"occurred_at"`
	ActorID        string          `json:"actor_id"`
	ActorName      string          `json:"actor_name"`
	ActorType      string          `json:"actor_type"`
	Action         string          `json:"action"`
	ActionCategory string          `json:"action_category"`
	Resource       string          `json:"resource"`
	ResourceID     string          `json:"resource_id"`
	ResourceName   string          `json:"resource_name"`
	Targets        []targetJSON    `json:"targets"`
	Metadata       json.RawMessage `json:"metadata"`
	TenantID       string          `json:"tenant_id"`
	SessionID      string          `json:"session_id"`
	IdempotencyKey string          `json:"idempotency_key"`
	Version        string          `json:"version"`
	Outcome        string          `json:"outcome"`
	PatientID      string          `json:"patient_id"`
	PurposeOfUse   string          `json:"purpose_of_use"`
	IPAddress      string          `json:"ip_address"`
	UserAgent      string          `json:"user_agent"`
	Source         string          `json:"source"`
	IPCountry      string          `json:"ip_country"`
	IPCity         string          `json:"ip_city"`
	IPRegion       string          `json:"ip_region"`
}

type targetJSON struct {
	ID       string          `json:"id"`
	Metadata json.RawMessage `json:"metadata"`
	Name     string          `json:"name"`
	Type     string          `json:"type"`
}

// ParseEvent reads a version 1 leaf back into an event. It is strict:
// unknown members, another version or a missing sequence are errors.
func ParseEvent(canonical []byte) (vigil.Event, error) {
	var l leafJSON
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return vigil.Event{}, fmt.Errorf("ledger: leaf: %w", err)
	}
	if l.V != LeafVersion {
		return vigil.Event{}, fmt.Errorf("ledger: leaf format version %d, want %d", l.V, LeafVersion)
	}
	if l.Sequence == nil || *l.Sequence < 0 || l.ID == "" {
		return vigil.Event{}, fmt.Errorf("ledger: leaf without id or sequence")
	}
	created, err := time.Parse(TimeLayout, l.CreatedAt)
	if err != nil {
		return vigil.Event{}, fmt.Errorf("ledger: leaf created_at: %w", err)
	}
	occurred, err := time.Parse(TimeLayout, l.OccurredAt)
	if err != nil {
		return vigil.Event{}, fmt.Errorf("ledger: leaf occurred_at: %w", err)
	}
	e := vigil.Event{
		ID: l.ID, Workspace: l.Workspace, Sequence: *l.Sequence, CreatedAt: created, OccurredAt: occurred,
		ActorID: l.ActorID, ActorName: l.ActorName, ActorType: l.ActorType,
		Action: l.Action, ActionCategory: l.ActionCategory,
		Resource: l.Resource, ResourceID: l.ResourceID, ResourceName: l.ResourceName,
		Metadata: l.Metadata, TenantID: l.TenantID, SessionID: l.SessionID, IdempotencyKey: l.IdempotencyKey,
		Version: l.Version, Outcome: vigil.Outcome(l.Outcome), PatientID: l.PatientID, PurposeOfUse: l.PurposeOfUse,
		IPAddress: l.IPAddress, UserAgent: l.UserAgent, Source: l.Source,
		IPCountry: l.IPCountry, IPCity: l.IPCity, IPRegion: l.IPRegion,
	}
	for _, t := range l.Targets {
		e.Targets = append(e.Targets, vigil.Target{Type: t.Type, ID: t.ID, Name: t.Name, Metadata: t.Metadata})
	}
	return e, nil
}
