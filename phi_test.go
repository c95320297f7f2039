package vigil_test

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// TestDefaultPHIPatternsMatchTheirShapes checks each default pattern on
// values it must find and on what events hold all day, which it must not.
func TestDefaultPHIPatternsMatchTheirShapes(t *testing.T) {
	found := map[string][]string{
		"ssn":           {"123-45-6789", "ssn 078-05-1120 on file"},
		"phone":         {"555-867-5309", "(555) 867-5309", "+1 555.867.5309", "call 555 867 5309"},
		"email":         {"jane.doe@example.org", "Mail: J_Doe+x@mail.Example.CO.uk"},
		"date_of_birth": {"DOB 1980-02-03", "date of birth: 03/02/1980", "born 3.2.1980", "D.O.B. 1980/2/3"},
		"mrn":           {"MRN 0012345", "mrn: A1234567", "Medical record number #99887766"},
	}
	clean := []string{"2024-06-15T08:30:00Z", "2024-06-15", "0190b5a0-1c2d-7e3f-8a4b-5c6d7e8f9a0b", "10.0.0.1", "2001:db8::1",
		"Patient/pt_123", "record.read", "Chart review", "dr_a", "1234567", "v1.2.3-rc4", "ward 12-B", "12:30-14:45", "user@host"}
	patterns := vigil.DefaultPHIPatterns()
	for _, p := range patterns {
		if len(found[p.Name]) == 0 {
			t.Fatalf("pattern %s has no case", p.Name)
		}
		// Through Scan, so the pattern's Needs (the bytes every match
		// holds) is applied as on the write path.
		g := &vigil.PHIGuard{Mode: vigil.PHIRefuse, Patterns: []vigil.PHIPattern{p}}
		finds := func(s string) bool { return len(g.Scan(&vigil.Event{ActorName: s})) == 1 }
		for _, s := range found[p.Name] {
			if !finds(s) {
				t.Errorf("%s does not find %q", p.Name, s)
			}
		}
		for _, s := range clean {
			if finds(s) {
				t.Errorf("%s finds %q, which is not PHI", p.Name, s)
			}
		}
	}
}

func TestWithPHIPatternsAddsReplacesAndRemoves(t *testing.T) {
	got, err := vigil.WithPHIPatterns(vigil.DefaultPHIPatterns(), []string{`badge=\bBDG-\d{6}\b`, `phone=\d{10}`, "mrn="})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		names = append(names, p.Name)
		if p.Name == "phone" && p.Regexp.String() != `\d{10}` {
			t.Errorf("phone was not replaced: %s", p.Regexp)
		}
	}
	if want := []string{"ssn", "phone", "email", "date_of_birth", "badge"}; !slices.Equal(names, want) {
		t.Fatalf("patterns %v, want %v", names, want)
	}
	for _, bad := range []string{"noequals", "=x", "a b=x", "x=(", "empty=a*", "nothere="} {
		if _, err := vigil.WithPHIPatterns(vigil.DefaultPHIPatterns(), []string{bad}); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	if _, err := vigil.ParsePHIMode("warn"); err == nil {
		t.Error("mode warn was accepted")
	}
}

func guardEvent() vigil.Event {
	return vigil.Event{ActorID: "dr_a", Action: "record.read", ActorName: "Dr A, 555-867-5309",
		ResourceName: "Chart", Metadata: json.RawMessage(`{"note":{"lines":["fine","mail jane@example.org"]},"count":3}`),
		Targets: []vigil.Target{{Type: "Document", ID: "d1", Name: "SSN 123-45-6789"}}}
}

var wantFindings = []vigil.PHIFinding{{Field: "actor_name", Pattern: "phone"}, {Field: "metadata.note.lines[1]", Pattern: "email"},
	{Field: "targets[0].name", Pattern: "ssn"}}

func TestPHIGuardRefusesNamingFieldAndPatternNeverTheValue(t *testing.T) {
	g := &vigil.PHIGuard{Mode: vigil.PHIRefuse, Patterns: vigil.DefaultPHIPatterns()}
	e, err := vigil.Prepare(guardEvent(), ledger.Canonicalize)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Scan(&e); !slices.Equal(got, wantFindings) {
		t.Fatalf("findings %v, want %v", got, wantFindings)
	}
	_, err = g.Guard(context.Background(), &e, ledger.Canonicalize)
	if vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("error %v, want EINVALID", err)
	}
	ds := vigil.ErrorDetails(err)
	if len(ds) != len(wantFindings) {
		t.Fatalf("details %v", ds)
	}
	for i, d := range ds {
		if d.Field != wantFindings[i].Field || !strings.Contains(d.Message, `"`+wantFindings[i].Pattern+`"`) {
			t.Errorf("detail %d: %+v, want field %s naming pattern %s", i, d, wantFindings[i].Field, wantFindings[i].Pattern)
		}
		for _, v := range []string{"867", "jane", "6789"} {
			if strings.Contains(d.Message, v) {
				t.Errorf("detail %d repeats the value: %s", i, d.Message)
			}
		}
	}
	// The server's own records pass; off finds nothing.
	if _, err := g.Guard(vigil.ServerRecord(context.Background()), &e, ledger.Canonicalize); err != nil {
		t.Fatalf("a server record was refused: %v", err)
	}
	off := &vigil.PHIGuard{Mode: vigil.PHIOff, Patterns: vigil.DefaultPHIPatterns()}
	if f, err := off.Guard(context.Background(), &e, ledger.Canonicalize); err != nil || f != nil {
		t.Fatalf("off: %v %v", f, err)
	}
}

func TestPHIGuardFlagMarksMetadataDeterministically(t *testing.T) {
	g := &vigil.PHIGuard{Mode: vigil.PHIFlag, Patterns: vigil.DefaultPHIPatterns()}
	var marked []json.RawMessage
	for range 2 {
		e, err := vigil.Prepare(guardEvent(), ledger.Canonicalize)
		if err != nil {
			t.Fatal(err)
		}
		found, err := g.Guard(context.Background(), &e, ledger.Canonicalize)
		if err != nil || !slices.Equal(found, wantFindings) {
			t.Fatalf("flag: %v %v", found, err)
		}
		flags, err := vigil.PHIFlags(e)
		if err != nil || !slices.Equal(flags, wantFindings) {
			t.Fatalf("the stored mark is %v (%v)", flags, err)
		}
		// The mark is canonical metadata, so a retry is the same event.
		if c, err := ledger.Canonicalize(e.Metadata); err != nil || string(c) != string(e.Metadata) {
			t.Fatalf("marked metadata is not canonical: %s", e.Metadata)
		}
		marked = append(marked, e.Metadata)
	}
	if string(marked[0]) != string(marked[1]) {
		t.Fatalf("two marks of one event differ:\n%s\n%s", marked[0], marked[1])
	}
	// A client's own mark is refused in every mode.
	forged := vigil.Event{ActorID: "a", Action: "b", Metadata: json.RawMessage(`{"vigil_phi":[]}`)}
	for _, mode := range []vigil.PHIMode{vigil.PHIRefuse, vigil.PHIFlag, vigil.PHIOff} {
		g := &vigil.PHIGuard{Mode: mode, Patterns: vigil.DefaultPHIPatterns()}
		_, err := g.Guard(context.Background(), &forged, ledger.Canonicalize)
		if ds := vigil.ErrorDetails(err); len(ds) != 1 || ds[0].Field != "metadata.vigil_phi" {
			t.Errorf("%s: a client's mark gave %v", mode, err)
		}
	}
}

// TestPHIGuardReadsOnlyFreeTextOfAFHIRResource: under metadata.fhir the
// identifiers (the patient's MRN as its identifier) are not free text.
func TestPHIGuardReadsOnlyFreeTextOfAFHIRResource(t *testing.T) {
	g := &vigil.PHIGuard{Mode: vigil.PHIRefuse, Patterns: []vigil.PHIPattern{{Name: "mrn", Regexp: regexp.MustCompile(`MRN\d+`)}}}
	e := vigil.Event{ActorID: "a", Action: "b", Metadata: json.RawMessage(
		`{"fhir":{"entity":[{"what":{"identifier":{"value":"MRN123"},"display":"chart of MRN456"},"description":"MRN789"}]},"x":"MRN1"}`)}
	got := g.Scan(&e)
	want := []vigil.PHIFinding{{Field: "metadata.fhir.entity[0].description", Pattern: "mrn"},
		{Field: "metadata.fhir.entity[0].what.display", Pattern: "mrn"}, {Field: "metadata.x", Pattern: "mrn"}}
	if !slices.Equal(got, want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
}

// BenchmarkPHIGuard is the guard's cost per event on the write path: a
// clean event with names and a small metadata object, in refuse mode.
func BenchmarkPHIGuard(b *testing.B) {
	g := &vigil.PHIGuard{Mode: vigil.PHIRefuse, Patterns: vigil.DefaultPHIPatterns()}
	e, err := vigil.Prepare(vigil.Event{ActorID: "dr_a", Action: "record.read", ActorName: "Dr. Alice Smith", ResourceName: "Chart, ward 12-B",
		Metadata: json.RawMessage(`{"reason":"follow-up","app":"ehr-7.2","tags":["cardio","inpatient"],"n":3}`)}, ledger.Canonicalize)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := g.Guard(ctx, &e, ledger.Canonicalize); err != nil {
			b.Fatal(err)
		}
	}
}
