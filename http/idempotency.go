package http

import (
	"errors"
	"net/http"
	"strings"

	"github.com/vigilhq/vigil"
)

// headerIdempotencyKey carries the idempotency key of the creates whose
// body has no field for one (a FHIR AuditEvent, seed 001's shape). It is
// the header of Stripe and of the IETF draft "The Idempotency-Key HTTP
// Header Field", whose value is a structured-field string ("key"); the
// bare form (key) is accepted too.
const headerIdempotencyKey = "Idempotency-Key"

// headerIfNoneExist asks FHIR's conditional create, which the server does
// not offer (its CapabilityStatement says conditionalCreate false): it is
// refused rather than ignored, since ignoring it would store what the
// client asked not to.
const headerIfNoneExist = "If-None-Exist"

// noConditionalCreate refuses If-None-Exist.
func noConditionalCreate(r *http.Request) error {
	if len(r.Header.Values(headerIfNoneExist)) > 0 {
		return vigil.Invalid(vigil.ErrorDetail{Field: headerIfNoneExist,
			Message: "conditional create is not supported; send an Idempotency-Key header to make a create safe to repeat"})
	}
	return nil
}

// createKey reads a create's Idempotency-Key header ("" without one).
func createKey(r *http.Request) (string, error) {
	vs := r.Header.Values(headerIdempotencyKey)
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
	default:
		return "", vigil.Invalid(vigil.ErrorDetail{Field: headerIdempotencyKey, Message: "must be given once"})
	}
	key, ok := sfString(strings.TrimSpace(vs[0]))
	if !ok {
		return "", vigil.Invalid(vigil.ErrorDetail{Field: headerIdempotencyKey, Message: "must be a key, or a structured-field string (RFC 8941) holding one"})
	}
	if key == "" {
		return "", vigil.Invalid(vigil.ErrorDetail{Field: headerIdempotencyKey, Message: "must not be empty"})
	}
	return key, nil
}

// sfString decodes an RFC 8941 string ("..." with \" and \\ escapes, of
// printable ASCII); a value not starting with a quote is taken as it is.
func sfString(v string) (string, bool) {
	if !strings.HasPrefix(v, `"`) {
		return v, true
	}
	var b strings.Builder
	for i := 1; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\':
			i++
			if i == len(v) || (v[i] != '"' && v[i] != '\\') {
				return "", false
			}
			b.WriteByte(v[i])
		case c == '"':
			return b.String(), i == len(v)-1
		case c < 0x20 || c > 0x7e:
			return "", false
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// headerFieldErrors renames the idempotency_key field of an error to the
// header that carried the key, so the answer names what the client sent.
func headerFieldErrors(err error) error {
	var ve *vigil.Error
	if !errors.As(err, &ve) {
		return err
	}
	renamed := false
	details := make([]vigil.ErrorDetail, len(ve.Details))
	for i, d := range ve.Details {
		if d.Field == "idempotency_key" {
			d.Field, renamed = headerIdempotencyKey, true
		}
		details[i] = d
	}
	if !renamed {
		return err
	}
	cp := *ve
	cp.Details = details
	cp.Message = strings.Replace(cp.Message, "idempotency_key", headerIdempotencyKey, 1)
	return &cp
}

// eventKey applies the Idempotency-Key header to an event of the REST
// API, whose body may carry the key as idempotency_key: either may be
// given, or both when they agree. It reports whether the key came from
// the header alone, so errors about it name the header.
func eventKey(r *http.Request, e *vigil.Event) (fromHeader bool, err error) {
	key, err := createKey(r)
	if err != nil || key == "" {
		return false, err
	}
	switch e.IdempotencyKey {
	case "":
		e.IdempotencyKey = key
		return true, nil
	case key:
		return false, nil
	}
	return false, vigil.Invalid(vigil.ErrorDetail{Field: headerIdempotencyKey, Message: "differs from the body's idempotency_key"})
}

// noBatchKey refuses the Idempotency-Key header on a batch: each of its
// events carries its own key in idempotency_key.
func noBatchKey(r *http.Request) error {
	if len(r.Header.Values(headerIdempotencyKey)) > 0 {
		return vigil.Invalid(vigil.ErrorDetail{Field: headerIdempotencyKey, Message: "a batch takes one idempotency_key per event, in the body"})
	}
	return nil
}
