package fhir_test

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/fhir"
	"github.com/vigilhq/vigil/ledger"
)

// FuzzFHIRAuditEvent: whatever the body, parsing answers an accepted
// resource or a client error; an accepted resource maps onto a valid event
// or is refused by name, and its view gives back what was sent.
func FuzzFHIRAuditEvent(f *testing.F) {
	for _, pattern := range []string{"r4-*.json", "balp-*.json"} {
		for _, name := range fixtures(f, pattern) {
			f.Add(readFixture(f, name))
		}
	}
	f.Add([]byte(`{"resourceType":"AuditEvent","type":{"code":"x"},"recorded":"2024-01-01T00:00:00Z","agent":[{"requestor":true,"name":"a"}],"source":{"observer":{"display":"x"}}}`))
	f.Add([]byte(`{"resourceType":"AuditEvent","agent":[{"requestor":1}]}`))
	f.Add([]byte(`{"resourceType":"AuditEvent","extension":[{"url":"u","valueInteger":1e400}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := fhir.ParseAuditEvent(body)
		if err != nil {
			if c := vigil.ErrorCode(err); c != vigil.EINVALID && c != vigil.EMALFORMED {
				t.Fatalf("code %s: %v", c, err)
			}
			return
		}
		e, err := fhir.ToEvent(a)
		if err != nil {
			if c := vigil.ErrorCode(err); c != vigil.EINVALID && c != vigil.ETOOLARGE {
				t.Fatalf("mapping failed with %v", err)
			}
			return
		}
		prepared, err := vigil.Prepare(e, ledger.Canonicalize)
		if err != nil {
			// Refused by the one preparation: every problem must then be
			// named by the element it came from.
			if vigil.ErrorCode(err) != vigil.EINVALID {
				t.Fatalf("preparing failed with %v", err)
			}
			for _, d := range vigil.ErrorDetails(fhir.ElementPaths(a, err)) {
				if !strings.HasPrefix(d.Field, "AuditEvent") {
					t.Fatalf("a refusal names %q, not an element: %+v", d.Field, d)
				}
			}
			return
		}
		if prepared.OccurredAt.IsZero() || !prepared.OccurredAt.Equal(e.OccurredAt) {
			t.Fatalf("recorded %q became %v", a.Recorded, prepared.OccurredAt)
		}
		stored := e
		stored.ID = "id"
		a.ID, a.Meta = "", nil
		view := fhir.FromEvent(stored)
		view.ID, view.Meta = "", nil
		if !reflect.DeepEqual(jsonOf(t, a), jsonOf(t, view)) {
			t.Fatalf("round trip:\n%s\n%s", jsonOf(t, a), jsonOf(t, view))
		}
		_ = fhir.Terms(stored)
	})
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzFHIRSearch: any query string parses to a search or a client error.
func FuzzFHIRSearch(f *testing.F) {
	for _, s := range []string{
		"action=R", "outcome=8", "date=ge2024-06-01&date=le2024-06-30", "type=http://x|rest",
		"agent=Practitioner/1,prac", "agent-name=Dr", "patient=Patient/pt_abc123", "_count=0&_sort=date",
		"_cursor=ZjEuMS4y", "entity-type=\\|1", "date=2024-06-15T08:30:00.5Z", "x=1",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, strict bool) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		s, err := fhir.ParseSearch(v, strict)
		if err != nil {
			if vigil.ErrorCode(err) != vigil.EINVALID {
				t.Fatalf("code %s", vigil.ErrorCode(err))
			}
			return
		}
		if s.Query.Limit < 1 || s.Query.Limit > fhir.MaxCount {
			t.Fatalf("limit %d", s.Query.Limit)
		}
		if strict && len(s.Ignored) > 0 {
			t.Fatalf("strict search ignored %v", s.Ignored)
		}
	})
}
