package vigil

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strconv"
	"strings"
)

// Canonicalizer returns the canonical form (RFC 8785) of a JSON value:
// the bytes the ledger hashes. ledger.Canonicalize is the one
// implementation; it refuses what cannot be hashed reproducibly
// (duplicate members, lone surrogates, integers beyond ±2^53).
type Canonicalizer func(raw []byte) ([]byte, error)

// Prepare is the one preparation of an event a client sent, whatever the
// route (REST, batch, FHIR, seed 001's shape, the SDK) and before any
// store keeps it: it checks every field against the rules of limits.go,
// text.go and time.go, reporting every problem at once, each naming its
// field; and it brings the event to stored form: metadata canonical, the
// time in UTC, the IP address normalised (IPv4-mapped IPv6 as IPv4), the
// default outcome filled in. Server-assigned fields (ID, Workspace,
// Sequence, CreatedAt, the geolocation) are left as they are. Preparing a
// prepared event changes nothing.
func Prepare(e Event, canonical Canonicalizer) (Event, error) {
	var v fieldCheck
	v.str("actor_id", e.ActorID, Identifier, MaxIDLength, true)
	v.str("action", e.Action, Identifier, MaxIDLength, true)
	v.str("actor_name", e.ActorName, Line, MaxTextLength, false)
	v.str("actor_type", e.ActorType, Identifier, MaxIDLength, false)
	v.str("action_category", e.ActionCategory, Identifier, MaxIDLength, false)
	v.str("resource", e.Resource, Identifier, MaxIDLength, false)
	v.str("resource_id", e.ResourceID, Identifier, MaxIDLength, false)
	v.str("resource_name", e.ResourceName, Line, MaxTextLength, false)
	v.str("tenant_id", e.TenantID, Identifier, MaxIDLength, false)
	v.str("session_id", e.SessionID, Identifier, MaxIDLength, false)
	v.str("idempotency_key", e.IdempotencyKey, Identifier, MaxIDLength, false)
	v.str("version", e.Version, Identifier, MaxIDLength, false)
	v.str("patient_id", e.PatientID, Identifier, MaxIDLength, false)
	v.str("purpose_of_use", e.PurposeOfUse, Identifier, MaxIDLength, false)
	v.str("user_agent", e.UserAgent, Line, MaxTextLength, false)
	v.str("source", e.Source, Line, MaxTextLength, false)
	if e.IPAddress == "" {
		e.IPFromConnection = false // no address, so none from the connection
	}
	if e.IPAddress != "" && v.str("ip_address", e.IPAddress, Identifier, MaxIDLength, false) {
		if addr, err := netip.ParseAddr(e.IPAddress); err != nil {
			v.add("ip_address", "must be an IPv4 or IPv6 address")
		} else {
			e.IPAddress = addr.Unmap().String()
		}
	}
	switch {
	case e.Outcome == "":
		e.Outcome = OutcomeSuccess
	case !e.Outcome.Valid():
		v.add("outcome", OutcomeMessage)
	}
	if !e.OccurredAt.IsZero() {
		if msg := CheckTime(e.OccurredAt); msg != "" {
			v.add("occurred_at", msg)
		}
		e.OccurredAt = Time(e.OccurredAt)
	}
	e.Metadata = v.metadata("metadata", e.Metadata, canonical)
	if len(e.Targets) > MaxTargets {
		v.add("targets", "must hold at most "+strconv.Itoa(MaxTargets)+" targets")
	} else if len(e.Targets) > 0 {
		targets := make([]Target, len(e.Targets)) // the caller's slice stays as it was
		for i, t := range e.Targets {
			p := "targets[" + strconv.Itoa(i) + "]."
			v.str(p+"type", t.Type, Identifier, MaxIDLength, true)
			v.str(p+"id", t.ID, Identifier, MaxIDLength, true)
			v.str(p+"name", t.Name, Line, MaxTextLength, false)
			t.Metadata = v.metadata(p+"metadata", t.Metadata, canonical)
			targets[i] = t
		}
		e.Targets = targets
	}
	if len(v.details) > 0 {
		return e, Invalid(v.details...)
	}
	return e, nil
}

// fieldCheck collects the problems of one request.
type fieldCheck struct{ details []ErrorDetail }

func (v *fieldCheck) add(field, msg string) {
	v.details = append(v.details, ErrorDetail{Field: field, Message: msg})
}

// str checks one string field; it reports whether the field passed.
func (v *fieldCheck) str(field, s string, kind StringKind, max int, required bool) bool {
	if required && strings.TrimSpace(s) == "" {
		v.add(field, "is required")
		return false
	}
	if msg := CheckString(s, kind, max); msg != "" {
		v.add(field, msg)
		return false
	}
	return true
}

// metadata returns raw in canonical form, requiring a JSON object of at
// most MaxMetadataKeys keys and MaxMetadataBytes canonical bytes. Empty
// input, null and {} mean "no metadata".
func (v *fieldCheck) metadata(field string, raw json.RawMessage, canonical Canonicalizer) json.RawMessage {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] != '{' {
		v.add(field, "must be a JSON object")
		return nil
	}
	c, err := canonical(raw)
	if err != nil {
		v.add(field, err.Error())
		return nil
	}
	if len(c) > MaxMetadataBytes {
		v.add(field, "must be at most "+strconv.Itoa(MaxMetadataBytes)+" bytes")
		return nil
	}
	if string(c) == "{}" {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(c, &keys); err != nil {
		v.add(field, "must be a JSON object")
		return nil
	}
	if len(keys) > MaxMetadataKeys {
		v.add(field, "must have at most "+strconv.Itoa(MaxMetadataKeys)+" keys")
		return nil
	}
	return c
}
