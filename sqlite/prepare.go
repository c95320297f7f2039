package sqlite

import (
	"bytes"
	"encoding/json"
	"net/netip"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// prepareEvent validates a client's event and brings it to stored form:
// metadata canonical (RFC 8785, exactly what the ledger hashes), times in
// UTC, the IP address normalised, the default outcome filled in. It runs in
// the caller's goroutine so the writer only writes.
func prepareEvent(e vigil.Event, enrich func(*vigil.Event)) (vigil.Event, error) {
	if err := e.Validate(); err != nil {
		return e, err
	}
	var details []vigil.ErrorDetail
	add := func(field, msg string) { details = append(details, vigil.ErrorDetail{Field: field, Message: msg}) }
	var err error
	if e.Metadata, err = canonicalObject(e.Metadata, vigil.MaxMetadataKeys); err != nil {
		add("metadata", err.Error())
	}
	if len(e.Targets) > 0 {
		targets := make([]vigil.Target, len(e.Targets))
		for i, t := range e.Targets {
			if t.Metadata, err = canonicalObject(t.Metadata, vigil.MaxMetadataKeys); err != nil {
				add("targets["+itoa(i)+"].metadata", err.Error())
			}
			targets[i] = t
		}
		e.Targets = targets
	}
	if e.IPAddress == "" {
		e.IPFromConnection = false
	} else {
		addr, err := netip.ParseAddr(e.IPAddress)
		if err != nil {
			add("ip_address", "must be an IPv4 or IPv6 address")
		} else {
			e.IPAddress = addr.Unmap().String()
		}
	}
	if e.Outcome == "" {
		e.Outcome = vigil.OutcomeSuccess
	}
	// Enrichment is the server's: whatever a caller put there is replaced.
	e.IPCountry, e.IPCity, e.IPRegion = "", "", ""
	if enrich != nil && e.IPAddress != "" && len(details) == 0 {
		enrich(&e)
	}
	if !e.OccurredAt.IsZero() {
		e.OccurredAt = vigil.Time(e.OccurredAt)
	}
	if len(details) > 0 {
		return e, vigil.Invalid(details...)
	}
	return e, nil
}

type fieldError string

func (e fieldError) Error() string { return string(e) }

// canonicalObject returns raw as canonical JSON, requiring an object with
// at most maxKeys keys. Empty input and {} mean "no metadata".
func canonicalObject(raw json.RawMessage, maxKeys int) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] != '{' {
		return nil, fieldError("must be a JSON object")
	}
	c, err := ledger.Canonicalize(raw)
	if err != nil {
		return nil, fieldError(err.Error())
	}
	if len(c) > vigil.MaxMetadataBytes {
		return nil, fieldError("must be at most 65536 bytes")
	}
	if string(c) == "{}" {
		return nil, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(c, &keys); err != nil {
		return nil, fieldError("must be a JSON object")
	}
	if len(keys) > maxKeys {
		return nil, fieldError("must have at most " + itoa(maxKeys) + " keys")
	}
	return c, nil
}
