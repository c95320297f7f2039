package http

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/cadf"
	"github.com/vigilhq/vigil/fhir"
)

// Any event, however it was ingested, can be read in other standard
// views: GET /api/v1/events/{id}?format=fhir (an R4 AuditEvent) or
// format=cadf (a DMTF CADF event).

// eventFormat reads the format parameter of GET /api/v1/events/{id}; ""
// is Vigil's own shape. Other parameters are refused, as on listings.
func eventFormat(r *http.Request) (string, error) {
	var details []vigil.ErrorDetail
	values := r.URL.Query()
	for name, vs := range values {
		switch {
		case name != "format":
			details = append(details, vigil.ErrorDetail{Field: name, Message: "unknown query parameter"})
		case len(vs) > 1:
			details = append(details, vigil.ErrorDetail{Field: name, Message: "must be given once"})
		}
	}
	f := values.Get("format")
	switch f {
	case "", "fhir", "cadf":
	case "vigil":
		f = ""
	default:
		details = append(details, vigil.ErrorDetail{Field: "format", Message: "must be vigil, fhir or cadf"})
	}
	if len(details) > 0 {
		return "", vigil.Invalid(details...)
	}
	return f, nil
}

func eventView(e vigil.Event, format string) any {
	a := fhir.FromEvent(e)
	if format == "cadf" {
		return cadf.FromEvent(e, a.Action)
	}
	return a
}

// reservedMetadata reports whether metadata has the top-level key under
// which FHIR-ingested events keep their resource: through the REST API it
// would forge the event's FHIR view.
func reservedMetadata(m json.RawMessage) bool {
	if !bytes.Contains(m, []byte(`"`+fhir.MetadataKey+`"`)) {
		return false
	}
	var keys map[string]json.RawMessage
	if json.Unmarshal(m, &keys) != nil {
		return false // the write path reports what is wrong with it
	}
	_, ok := keys[fhir.MetadataKey]
	return ok
}
