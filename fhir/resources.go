package fhir

import (
	"encoding/json"
	"sort"
	"strconv"

	"github.com/vigilhq/vigil"
)

// OperationOutcome is the resource every FHIR error answers with.
type OperationOutcome struct {
	ResourceType string  `json:"resourceType"`
	Issue        []Issue `json:"issue"`
}

// Issue is one OperationOutcome.issue.
type Issue struct {
	Severity    string   `json:"severity"`
	Code        string   `json:"code"`
	Diagnostics string   `json:"diagnostics,omitempty"`
	Expression  []string `json:"expression,omitempty"`
}

// issueCodes maps Vigil's error codes to FHIR's IssueType.
var issueCodes = map[string]string{
	vigil.EINVALID:      "invalid",
	vigil.EMALFORMED:    "structure",
	vigil.EBADQUERY:     "structure",
	vigil.EMEDIATYPE:    "not-supported",
	vigil.ETOOLARGE:     "too-costly",
	vigil.ENOTFOUND:     "not-found",
	vigil.ECONFLICT:     "conflict",
	vigil.EUNAUTHORIZED: "login",
	vigil.EFORBIDDEN:    "forbidden",
	vigil.ERATELIMITED:  "throttled",
	vigil.EUNAVAILABLE:  "transient",
	vigil.EINTERNAL:     "exception",
}

// Outcome renders an error as an OperationOutcome: one issue per detail,
// each naming its element or parameter in expression.
func Outcome(err error) OperationOutcome {
	code := issueCodes[vigil.ErrorCode(err)]
	if code == "" {
		code = "exception"
	}
	oo := OperationOutcome{ResourceType: "OperationOutcome"}
	for _, d := range vigil.ErrorDetails(err) {
		c := code
		if d.Message == "is required" || len(d.Message) > 12 && d.Message[:12] == "is required:" {
			c = "required"
		}
		is := Issue{Severity: "error", Code: c, Diagnostics: d.Message}
		if d.Field != "" {
			is.Diagnostics = d.Field + ": " + d.Message
			is.Expression = []string{d.Field}
		}
		oo.Issue = append(oo.Issue, is)
	}
	if len(oo.Issue) == 0 {
		oo.Issue = []Issue{{Severity: "error", Code: code, Diagnostics: vigil.ErrorMessage(err)}}
	}
	return oo
}

// NotSupported is the OperationOutcome of a method the server refuses.
func NotSupported(msg string) OperationOutcome {
	return OperationOutcome{ResourceType: "OperationOutcome", Issue: []Issue{{Severity: "error", Code: "not-supported", Diagnostics: msg}}}
}

// Bundle is a searchset Bundle.
type Bundle struct {
	ResourceType string        `json:"resourceType"`
	ID           string        `json:"id,omitempty"`
	Meta         *Meta         `json:"meta,omitempty"`
	Type         string        `json:"type"`
	Total        *int64        `json:"total,omitempty"`
	Link         []BundleLink  `json:"link"`
	Entry        []BundleEntry `json:"entry,omitempty"`
}

// BundleLink is Bundle.link.
type BundleLink struct {
	Relation string `json:"relation"`
	URL      string `json:"url"`
}

// BundleEntry is Bundle.entry.
type BundleEntry struct {
	FullURL  string          `json:"fullUrl,omitempty"`
	Resource json.RawMessage `json:"resource"`
	Search   *EntrySearch    `json:"search,omitempty"`
}

// EntrySearch is Bundle.entry.search.
type EntrySearch struct {
	Mode string `json:"mode"`
}

// CapabilityStatement describes what the server does, and no more.
type CapabilityStatement struct {
	ResourceType   string                    `json:"resourceType"`
	Status         string                    `json:"status"`
	Date           string                    `json:"date"`
	Kind           string                    `json:"kind"`
	Software       map[string]string         `json:"software"`
	FHIRVersion    string                    `json:"fhirVersion"`
	Format         []string                  `json:"format"`
	Implementation *CapabilityImplementation `json:"implementation"`
	Rest           []CapabilityRest          `json:"rest"`
}

// CapabilityImplementation is CapabilityStatement.implementation: the
// installation answering. R4's invariant cpb-14 requires it of a statement
// of kind instance.
type CapabilityImplementation struct {
	Description string `json:"description"`
	URL         string `json:"url,omitempty"`
}

// CapabilityRest is CapabilityStatement.rest.
type CapabilityRest struct {
	Mode          string               `json:"mode"`
	Documentation string               `json:"documentation,omitempty"`
	Security      *CapabilitySecurity  `json:"security,omitempty"`
	Resource      []CapabilityResource `json:"resource"`
}

// CapabilitySecurity is CapabilityStatement.rest.security.
type CapabilitySecurity struct {
	Description string `json:"description"`
}

// CapabilityResource is CapabilityStatement.rest.resource.
type CapabilityResource struct {
	Type              string              `json:"type"`
	Profile           string              `json:"profile,omitempty"`
	SupportedProfile  []string            `json:"supportedProfile,omitempty"`
	Documentation     string              `json:"documentation,omitempty"`
	Interaction       []map[string]string `json:"interaction"`
	Versioning        string              `json:"versioning"`
	ReadHistory       bool                `json:"readHistory"`
	UpdateCreate      bool                `json:"updateCreate"`
	ConditionalCreate bool                `json:"conditionalCreate"`
	ConditionalUpdate bool                `json:"conditionalUpdate"`
	ConditionalDelete string              `json:"conditionalDelete"`
	SearchParam       []CapabilityParam   `json:"searchParam"`
}

// capabilityDate is when what the statement says last changed.
const capabilityDate = "2026-11-23"

// CapabilityParam is one supported search parameter.
type CapabilityParam struct {
	Name          string `json:"name"`
	Definition    string `json:"definition,omitempty"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

// Capabilities is the server's CapabilityStatement: AuditEvent create,
// read, vread (of version 1) and search-type; no update, patch, delete or
// history (events are immutable and have one version). base is the FHIR
// base URL the client addressed, the installation's implementation.url.
func Capabilities(base string) CapabilityStatement {
	params := make([]CapabilityParam, 0, len(SearchParams))
	for _, name := range sortedParams() {
		p := CapabilityParam{Name: name, Type: KindName(name), Definition: "http://hl7.org/fhir/SearchParameter/AuditEvent-" + name}
		switch name {
		case "date":
			p.Documentation = "Prefixes eq, ge, gt, le, lt; repeat to AND. Sorting and date filters use AuditEvent.recorded. Dates lie in the years " +
				strconv.Itoa(vigil.MinYear) + " to " + strconv.Itoa(vigil.MaxYear) + "."
		case "agent-name", "entity-name":
			p.Documentation = "Case-insensitive prefix match. Modifiers are not supported."
		case "agent", "source":
			p.Documentation = "Type/id, id, or an identifier value (also the display when the reference has neither)."
		}
		params = append(params, p)
	}
	params = append(params,
		CapabilityParam{Name: "_id", Type: ResourceParams["_id"], Definition: "http://hl7.org/fhir/SearchParameter/Resource-id",
			Documentation: "The event id; comma-separated ids are ORed, a repeated _id ANDed."},
		CapabilityParam{Name: "_lastUpdated", Type: ResourceParams["_lastUpdated"], Definition: "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
			Documentation: "meta.lastUpdated, the time Vigil recorded the event; prefixes as for date."},
		CapabilityParam{Name: "_count", Type: "number", Documentation: "0 to " + strconv.Itoa(MaxCount) + ", default " + strconv.Itoa(DefaultCount) + "."},
		CapabilityParam{Name: "_sort", Type: "special", Documentation: "date or -date (default)."},
		CapabilityParam{Name: "_total", Type: "special", Documentation: "none, estimate or accurate; totals are always accurate."},
		CapabilityParam{Name: "_summary", Type: "special", Documentation: "count (only the total) or false; true, text and data are ignored (entries are whole resources)."},
	)
	return CapabilityStatement{
		ResourceType: "CapabilityStatement",
		Status:       "active",
		Date:         capabilityDate,
		Kind:         "instance",
		Software:     map[string]string{"name": "Vigil"},
		FHIRVersion:  "4.0.1",
		Format:       []string{"application/fhir+json", "json"},
		Implementation: &CapabilityImplementation{
			Description: "Vigil, a tamper-evident audit trail of access to protected health information",
			URL:         base,
		},
		Rest: []CapabilityRest{{
			Mode: "server",
			Documentation: "Audit events are immutable: update, patch and delete answer 405. An unsupported search parameter is refused, " +
				"since ignoring one that could narrow the search would answer more than was asked; only those that shape the entries " +
				"(_elements, _include, _revinclude, _pretty, _contained, _containedType, _summary=true|text|data) are ignored and reported, " +
				"unless Prefer: handling=strict.",
			Security: &CapabilitySecurity{Description: "Bearer API keys: the ingest role may create, the auditor role may read and search. Every read and search is itself recorded in the audit trail."},
			Resource: []CapabilityResource{{
				Type:              "AuditEvent",
				Profile:           "http://hl7.org/fhir/StructureDefinition/AuditEvent",
				SupportedProfile:  []string{ProfileBALPPatientRead, balpProfile("C"), balpProfile("U"), balpProfile("D")},
				Interaction:       []map[string]string{{"code": "create"}, {"code": "read"}, {"code": "vread"}, {"code": "search-type"}},
				Versioning:        "versioned",
				ConditionalDelete: "not-supported",
				SearchParam:       params,
			}},
		}},
	}
}

func sortedParams() []string {
	names := make([]string, 0, len(SearchParams))
	for n := range SearchParams {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
