package vigil

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// The PHI guard keeps the audit trail from becoming a PHI leak itself: an
// application that writes a social security number into an actor's name,
// or a phone number into a note in metadata, would otherwise have it kept
// for years in a log that is built never to forget. The guard looks for
// the shapes of such values in the free-text fields of every event a
// client sends and, by its mode, refuses the event or stores it marked.
// It never repeats what it matched: not in the refusal, not in the mark,
// not in a log line.

// PHIMode is what the guard does with an event in which it finds a
// pattern.
type PHIMode string

const (
	PHIRefuse PHIMode = "refuse" // refuse the event (EINVALID, naming the field and the pattern)
	PHIFlag   PHIMode = "flag"   // store it, marked under metadata's PHIFlagsKey
	PHIOff    PHIMode = "off"    // look for nothing
)

// ParsePHIMode reads a mode as the command line gives it.
func ParsePHIMode(s string) (PHIMode, error) {
	switch m := PHIMode(s); m {
	case PHIRefuse, PHIFlag, PHIOff:
		return m, nil
	}
	return "", fmt.Errorf("the PHI guard's mode must be refuse, flag or off, not %q", s)
}

// PHIFlagsKey is the metadata member under which an event stored in flag
// mode lists what the guard found: [{"field": ..., "pattern": ...}]. It
// is the server's; a client may not send it (the mark could be forged or
// hidden otherwise).
const PHIFlagsKey = "vigil_phi"

// PHIPattern is one shape of PHI, by name.
type PHIPattern struct {
	Name   string
	Regexp *regexp.Regexp
	// Needs, when set, are bytes of which every match holds one (the
	// digits of a number, the @ of an address): text without any is not
	// given to the regular expression, which is most of the guard's cost.
	Needs string
}

const digits = "0123456789"

// DefaultPHIPatterns are the shapes looked for unless configured
// otherwise. Dates of birth and record numbers are looked for only where
// they are labelled as such ("DOB 1980-02-03", "MRN: 0012345"): a bare
// date or number is what metadata holds all day (times, counts, ids), and
// refusing every one of them would refuse the trail.
func DefaultPHIPatterns() []PHIPattern {
	return []PHIPattern{
		{"ssn", regexp.MustCompile(`\b\d{3}-\d{2}-\d{4}\b`), digits},
		{"phone", regexp.MustCompile(`(?:\+1[-. ]?)?(?:\(\d{3}\)\s?|\b\d{3}[-. ])\d{3}[-. ]\d{4}\b`), digits},
		{"email", regexp.MustCompile(`(?i)\b[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}\b`), "@"},
		{"date_of_birth", regexp.MustCompile(`(?i)\b(?:dob|d\.o\.b\.?|date of birth|birth ?date|born)\b\W{0,3}\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\b`), digits},
		{"mrn", regexp.MustCompile(`(?i)\b(?:mrn|medical record (?:number|no\.?|#))\W{0,3}[a-z]{0,3}\d{4,}\b`), digits},
	}
}

// ParsePHIPattern reads "NAME=REGEX" (RE2 syntax). An empty REGEX is
// valid: given to WithPHIPatterns, it removes the pattern of that name.
func ParsePHIPattern(s string) (name string, re *regexp.Regexp, err error) {
	name, expr, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", nil, fmt.Errorf("a PHI pattern is NAME=REGEX, not %q", s)
	}
	if CheckString(name, Identifier, MaxIDLength) != "" || strings.ContainsAny(name, " ,") {
		return "", nil, fmt.Errorf("a PHI pattern's name is an identifier without spaces or commas, not %q", name)
	}
	if expr == "" {
		return name, nil, nil
	}
	re, err = regexp.Compile(expr)
	if err != nil {
		return "", nil, fmt.Errorf("PHI pattern %s: %v", name, err)
	}
	if re.MatchString("") {
		return "", nil, fmt.Errorf("PHI pattern %s matches the empty string, so every field", name)
	}
	return name, re, nil
}

// WithPHIPatterns returns base with each "NAME=REGEX" of specs applied in
// order: a new name adds a pattern, a known name replaces it, and
// "NAME=" removes it.
func WithPHIPatterns(base []PHIPattern, specs []string) ([]PHIPattern, error) {
	out := slices.Clone(base)
	for _, s := range specs {
		name, re, err := ParsePHIPattern(s)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(out, func(p PHIPattern) bool { return p.Name == name })
		switch {
		case re == nil && i < 0:
			return nil, fmt.Errorf("PHI pattern %s: there is no such pattern to remove", name)
		case re == nil:
			out = slices.Delete(out, i, i+1)
		case i < 0:
			out = append(out, PHIPattern{Name: name, Regexp: re})
		default:
			out[i] = PHIPattern{Name: name, Regexp: re} // the default's Needs was its expression's
		}
	}
	return out, nil
}

// PHIFinding is one pattern found in one field. It holds names only.
type PHIFinding struct {
	Field   string `json:"field"`
	Pattern string `json:"pattern"`
}

// PHIGuard looks for PHI patterns in an event's free-text fields.
type PHIGuard struct {
	Mode     PHIMode
	Patterns []PHIPattern
	// Flagged, when set, is told of each event stored marked in flag
	// mode, once it is durable (a metric, a log line of the names); the
	// write path calls it (engine), not Guard.
	Flagged func(workspace string, findings []PHIFinding)
}

// fhirFreeText are the elements of a FHIR resource kept under
// metadata.fhir that are free text; its other strings are codes,
// references, identifiers and times, which are not free text (an
// identifier's value is the patient id, whose place is patient_id).
var fhirFreeText = map[string]bool{
	"display": true, "text": true, "div": true, "name": true, "description": true, "outcomeDesc": true, "valueString": true,
}

// Scan returns what the guard finds in e's free-text fields: actor_name,
// resource_name, each target's name, and every string value of metadata
// and of the targets' metadata (of a FHIR resource under metadata.fhir,
// its free-text elements). Fields are named as the event's fields are
// (metadata members by their path), in a stable order.
func (g *PHIGuard) Scan(e *Event) []PHIFinding {
	if g == nil || g.Mode == PHIOff {
		return nil
	}
	var out []PHIFinding
	text := func(field, s string) {
		if s == "" {
			return
		}
		for _, p := range g.Patterns {
			if (p.Needs == "" || strings.ContainsAny(s, p.Needs)) && p.Regexp.MatchString(s) {
				out = append(out, PHIFinding{field, p.Name})
			}
		}
	}
	text("actor_name", e.ActorName)
	text("resource_name", e.ResourceName)
	walkMetadata("metadata", e.Metadata, text)
	for i, t := range e.Targets {
		p := "targets[" + strconv.Itoa(i) + "]."
		text(p+"name", t.Name)
		walkMetadata(p+"metadata", t.Metadata, text)
	}
	return out
}

// walkMetadata calls text for every string value of a metadata object.
func walkMetadata(field string, raw json.RawMessage, text func(field, s string)) {
	if len(raw) == 0 {
		return
	}
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return // Prepare refused it already
	}
	for _, k := range sortedKeys(m) {
		if field == "metadata" && k == "fhir" {
			walkJSON(field+"."+k, m[k], func(key string) bool { return fhirFreeText[key] }, "", text)
			continue
		}
		walkJSON(field+"."+k, m[k], nil, k, text)
	}
}

// walkJSON visits the strings of v; when only is set, only those under a
// member it accepts (key is the member v is the value of).
func walkJSON(field string, v any, only func(string) bool, key string, text func(field, s string)) {
	switch x := v.(type) {
	case string:
		if only == nil || only(key) {
			text(field, x)
		}
	case []any:
		for i, y := range x {
			walkJSON(field+"["+strconv.Itoa(i)+"]", y, only, key, text)
		}
	case map[string]any:
		for _, k := range sortedKeys(x) {
			walkJSON(field+"."+k, x[k], only, k, text)
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Guard applies the guard to a prepared event about to be stored: it
// refuses a client's own PHIFlagsKey member (any mode), and by the mode
// refuses the event, naming each field and pattern, or marks its
// metadata, returning what it marked. canonical puts the marked metadata
// back in canonical form.
// The events the server records itself (ServerRecord) are not looked
// at: their free text is the server's record of a request (a search's
// parameters), which must be kept as it was asked.
func (g *PHIGuard) Guard(ctx context.Context, e *Event, canonical Canonicalizer) ([]PHIFinding, error) {
	if g == nil || IsServerRecord(ctx) {
		return nil, nil
	}
	if hasMember(e.Metadata, PHIFlagsKey) {
		return nil, Invalid(ErrorDetail{Field: "metadata." + PHIFlagsKey, Message: "is reserved: the PHI guard marks events there"})
	}
	findings := g.Scan(e)
	if len(findings) == 0 {
		return nil, nil
	}
	if g.Mode == PHIRefuse {
		details := make([]ErrorDetail, len(findings))
		for i, f := range findings {
			details[i] = ErrorDetail{Field: f.Field, Message: "looks like PHI (the PHI guard's pattern " + strconv.Quote(f.Pattern) +
				"); send a surrogate identifier instead, the audit trail must not hold PHI"}
		}
		return nil, Invalid(details...)
	}
	m := map[string]json.RawMessage{}
	if len(e.Metadata) > 0 {
		if err := json.Unmarshal(e.Metadata, &m); err != nil {
			return nil, err
		}
	}
	m[PHIFlagsKey], _ = json.Marshal(findings)
	raw, _ := json.Marshal(m)
	c, err := canonical(raw)
	if err != nil {
		return nil, err
	}
	if len(c) > MaxMetadataBytes {
		return nil, Invalid(ErrorDetail{Field: "metadata", Message: "must be at most " + strconv.Itoa(MaxMetadataBytes) +
			" bytes with the PHI guard's mark of the fields that look like PHI"})
	}
	e.Metadata = c
	return findings, nil
}

// hasMember reports whether a metadata object has a top-level member.
func hasMember(raw json.RawMessage, name string) bool {
	if len(raw) == 0 || !strings.Contains(string(raw), `"`+name+`"`) {
		return false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

// PHIFlags returns the PHI guard's mark of a stored event: what it found
// when the event was stored in flag mode; nil for an unmarked event.
func PHIFlags(e Event) ([]PHIFinding, error) {
	if !hasMember(e.Metadata, PHIFlagsKey) {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(e.Metadata, &m); err != nil {
		return nil, err
	}
	var out []PHIFinding
	if err := json.Unmarshal(m[PHIFlagsKey], &out); err != nil {
		return nil, errors.New("the PHI guard's mark does not decode: " + err.Error())
	}
	return out, nil
}

type serverRecordKey struct{}

// ServerRecord marks ctx as the server appending an event of its own (the
// meta-audit of a read, the record of an administrative change), which
// the PHI guard does not screen. Only the server's code can set it: it is
// not something a request carries.
func ServerRecord(ctx context.Context) context.Context {
	return context.WithValue(ctx, serverRecordKey{}, true)
}

// IsServerRecord reports whether ctx is marked by ServerRecord.
func IsServerRecord(ctx context.Context) bool {
	v, _ := ctx.Value(serverRecordKey{}).(bool)
	return v
}
