package console

import (
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/cadf"
	"github.com/vigilhq/vigil/fhir"
	vhttp "github.com/vigilhq/vigil/http"
	"github.com/vigilhq/vigil/ledger"
)

// field is one filter of a search form.
type field struct {
	Name, Label, Type, Value string
	Options                  []string // a select's values ("" first: any)
}

// eventFilters are GET /api/v1/events' filters, in the form's order.
var eventFilters = []field{
	{Name: "search", Label: "Search (names, action, resource)"},
	{Name: "actor_id", Label: "Actor ID"},
	{Name: "action", Label: "Action (patient.* for a prefix)"},
	{Name: "patient_id", Label: "Patient ID"},
	{Name: "resource", Label: "Resource type"},
	{Name: "resource_id", Label: "Resource ID"},
	{Name: "tenant_id", Label: "Tenant ID"},
	{Name: "session_id", Label: "Session ID"},
	{Name: "target_type", Label: "Target type"},
	{Name: "target_id", Label: "Target ID"},
	{Name: "outcome", Label: "Outcome", Options: []string{"", "success", "minor_failure", "failure", "serious_failure"}},
	{Name: "purpose_of_use", Label: "Purpose of use"},
	{Name: "from", Label: "From (occurred at, inclusive)", Type: "datetime"},
	{Name: "to", Label: "To (exclusive)", Type: "datetime"},
	{Name: "limit", Label: "Per page", Type: "number"},
}

// withValues returns fields holding the request's values.
func withValues(fields []field, v url.Values) []field {
	out := make([]field, len(fields))
	for i, f := range fields {
		f.Value = v.Get(f.Name)
		out[i] = f
	}
	return out
}

type eventsData struct {
	Filters []field
	Events  []vigil.Event
	Total   int64
	Next    string // the next page's URL
	Query   url.Values
}

func (c *Console) events(w http.ResponseWriter, r *http.Request, p *principal) error {
	v := filled(r.URL.Query())
	d := eventsData{Filters: withValues(eventFilters, v), Query: v}
	q, cursor, err := vhttp.ParseEventQuery(v)
	if err == nil {
		q.Workspace = c.cfg.Workspace
		err = vhttp.OpenEventCursor(&q, cursor)
	}
	if err != nil {
		pd := c.page(p, "Events", "events", d)
		pd.Error = vigil.ErrorMessage(err)
		c.pages.render(w, http.StatusUnprocessableEntity, "events", pd)
		return nil
	}
	var page vigil.Page
	err = c.audited(r, p, actionEventsQuery, flat(v), func() error {
		var err error
		page, err = c.cfg.Events.Events(r.Context(), q)
		return err
	})
	if err != nil {
		return err
	}
	d.Events, d.Total = page.Events, page.Total
	if page.HasMore {
		next := filled(v, "cursor")
		next.Set("cursor", vhttp.EventCursor(q, page.Next))
		d.Next = "/console/events?" + next.Encode()
	}
	c.pages.render(w, http.StatusOK, "events", c.page(p, "Events", "events", d))
	return nil
}

type eventData struct {
	Event     vigil.Event
	FHIR      string
	CADF      string
	Native    string
	Integrity vigil.Integrity
}

func (c *Console) event(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	var e vigil.Event
	err := c.audited(r, p, actionEventsRead, map[string]string{"event_id": id, "views": "vigil,fhir,cadf"}, func() error {
		var err error
		e, err = c.cfg.Events.Event(r.Context(), c.cfg.Workspace, "", id)
		return err
	})
	if err != nil {
		return err
	}
	in, err := c.cfg.Ledger.Integrity(r.Context(), c.cfg.Workspace, e.Sequence)
	if err != nil {
		return err
	}
	a := fhir.FromEvent(e)
	d := eventData{Event: e, Integrity: in[0], FHIR: pretty(a), CADF: pretty(cadf.FromEvent(e, a.Action)),
		Native: indentJSON(ledger.AppendEvent(nil, &e))}
	c.pages.render(w, http.StatusOK, "event", c.page(p, "Event "+e.ID, "events", d))
	return nil
}

func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

func indentJSON(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	return pretty(v)
}

// proofData is what the page's script verifies: the event's canonical
// leaf as read now, its audit path, and the signed checkpoint with the
// key to check it against.
type proofData struct {
	Pending     bool     `json:"pending"`
	Leaf        string   `json:"leaf,omitempty"`
	LeafIndex   int64    `json:"leaf_index"`
	TreeSize    int64    `json:"tree_size"`
	Hashes      []string `json:"hashes"`
	Checkpoint  string   `json:"checkpoint,omitempty"`
	VerifierKey string   `json:"verifier_key"`
	Origin      string   `json:"origin"`
}

// eventProof answers the in-browser check. The leaf is rebuilt from the
// stored row, so a row changed behind the ledger's back yields a leaf
// whose hash does not climb to the signed root.
func (c *Console) eventProof(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	out := proofData{VerifierKey: c.cfg.VerifierKey, Origin: ledger.Origin(keyName(c.cfg.VerifierKey), c.cfg.Workspace), Hashes: []string{}}
	err := c.audited(r, p, actionEventsProof, map[string]string{"event_id": id}, func() error {
		e, err := c.cfg.Events.Event(r.Context(), c.cfg.Workspace, "", id)
		if err != nil {
			return err
		}
		cp, err := c.cfg.Ledger.Checkpoint(r.Context(), c.cfg.Workspace, -1)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND || (err == nil && e.Sequence >= cp.Size) {
			out.Pending = true // not yet under a signed checkpoint
			return nil
		} else if err != nil {
			return err
		}
		proof, err := c.cfg.Ledger.InclusionProof(r.Context(), c.cfg.Workspace, e.Sequence, cp.Size)
		if err != nil {
			return err
		}
		out.Leaf = string(ledger.AppendEvent(nil, &e))
		out.LeafIndex, out.TreeSize, out.Checkpoint = proof.LeafIndex, proof.TreeSize, string(cp.Note)
		for _, h := range proof.Hashes {
			out.Hashes = append(out.Hashes, h.String())
		}
		return nil
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// keyName is the name in a note verifier key ("name+hash+key").
func keyName(vkey string) string {
	for i := 0; i < len(vkey); i++ {
		if vkey[i] == '+' {
			return vkey[:i]
		}
	}
	return vkey
}
