package alert_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

// TestParseConditionsErrors feeds bad definitions and checks that each is
// refused as EINVALID naming exactly the offending fields.
func TestParseConditionsErrors(t *testing.T) {
	tests := []struct {
		name, typ, conditions string
		fields                []string
	}{
		{"unknown type", "sudden_move", `{}`, []string{"rule_type"}},
		{"no type", "", `{}`, []string{"rule_type"}},
		{"not an object", vigil.RuleOffHours, `[1]`, []string{"conditions"}},
		{"syntax", vigil.RuleOffHours, `{"timezone":`, []string{"conditions"}},
		{"trailing", vigil.RuleWatchlist, `{"actors":["a"]} {}`, []string{"conditions"}},
		{"off_hours missing everything", vigil.RuleOffHours, `{}`,
			[]string{"conditions.action_pattern", "conditions.end_hour", "conditions.start_hour", "conditions.timezone"}},
		{"off_hours null is absent", vigil.RuleOffHours, `null`,
			[]string{"conditions.action_pattern", "conditions.end_hour", "conditions.start_hour", "conditions.timezone"}},
		{"unknown field", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"UTC","start_hour":20,"end_hour":6,"timzone":"UTC"}`,
			[]string{"conditions.timzone"}},
		{"repeated field", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"UTC","start_hour":20,"start_hour":21,"end_hour":6}`,
			[]string{"conditions.start_hour"}},
		{"bad timezone", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"Mars/Olympus_Mons","start_hour":20,"end_hour":6}`,
			[]string{"conditions.timezone"}},
		{"Local timezone", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"Local","start_hour":20,"end_hour":6}`,
			[]string{"conditions.timezone"}},
		{"empty timezone", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"","start_hour":20,"end_hour":6}`,
			[]string{"conditions.timezone"}},
		{"hours out of range", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"UTC","start_hour":24,"end_hour":-1}`,
			[]string{"conditions.end_hour", "conditions.start_hour"}},
		{"hours not integers", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"UTC","start_hour":20.5,"end_hour":"6"}`,
			[]string{"conditions.end_hour", "conditions.start_hour"}},
		{"empty window", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"UTC","start_hour":8,"end_hour":8}`,
			[]string{"conditions.end_hour"}},
		{"bad days", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"UTC","start_hour":20,"end_hour":6,"days":["sat","sabbath","sun","7"]}`,
			[]string{"conditions.days[1]", "conditions.days[3]"}},
		{"days not a list", vigil.RuleOffHours,
			`{"action_pattern":"*","timezone":"UTC","start_hour":20,"end_hour":6,"days":"sat"}`,
			[]string{"conditions.days"}},
		{"empty pattern", vigil.RuleOffHours,
			`{"action_pattern":"","timezone":"UTC","start_hour":20,"end_hour":6}`,
			[]string{"conditions.action_pattern"}},
		{"blank pattern", vigil.RuleNewCountry, `{"action_pattern":"  "}`, []string{"conditions.action_pattern"}},
		{"padded pattern", vigil.RuleNewCountry, `{"action_pattern":" *.accessed"}`, []string{"conditions.action_pattern"}},
		{"long pattern", vigil.RuleNewCountry, `{"action_pattern":"` + strings.Repeat("a", 256) + `"}`, []string{"conditions.action_pattern"}},
		{"NUL in pattern", vigil.RuleNewCountry, `{"action_pattern":"a\u0000*"}`, []string{"conditions.action_pattern"}},
		{"pattern not a string", vigil.RuleNewCountry, `{"action_pattern":3}`, []string{"conditions.action_pattern"}},
		{"bad lookback", vigil.RuleNewCountry, `{"lookback":"a month"}`, []string{"conditions.lookback"}},
		{"lookback as number", vigil.RuleNewCountry, `{"lookback":30}`, []string{"conditions.lookback"}},
		{"zero lookback", vigil.RuleNewCountry, `{"lookback":"0s"}`, []string{"conditions.lookback"}},
		{"negative lookback", vigil.RuleNewCountry, `{"lookback":"-24h"}`, []string{"conditions.lookback"}},
		{"huge lookback", vigil.RuleNewCountry, `{"lookback":"4000d"}`, []string{"conditions.lookback"}},
		{"alert_on_first not bool", vigil.RuleNewCountry, `{"alert_on_first":"yes"}`, []string{"conditions.alert_on_first"}},
		{"high_volume empty", vigil.RuleHighVolume, `{}`, []string{"conditions.threshold", "conditions.window"}},
		{"high_volume zero threshold", vigil.RuleHighVolume, `{"threshold":0,"window":"1h"}`, []string{"conditions.threshold"}},
		{"high_volume negative threshold", vigil.RuleHighVolume, `{"threshold":-3,"window":"1h"}`, []string{"conditions.threshold"}},
		{"high_volume zero window", vigil.RuleHighVolume, `{"threshold":10,"window":"0s"}`, []string{"conditions.window"}},
		{"high_volume window too long", vigil.RuleHighVolume, `{"threshold":10,"window":"32d"}`, []string{"conditions.window"}},
		{"high_volume bad by and count", vigil.RuleHighVolume, `{"by":"tenant","count":"bytes","threshold":10,"window":"1h"}`,
			[]string{"conditions.by", "conditions.count"}},
		{"high_volume window without threshold", vigil.RuleHighVolume, `{"destructive_patterns":["*.deleted"],"window":"1h"}`,
			[]string{"conditions.threshold"}},
		{"high_volume bad destructive", vigil.RuleHighVolume, `{"destructive_patterns":["*.deleted",""]}`,
			[]string{"conditions.destructive_patterns[1]"}},
		{"high_volume empty destructive", vigil.RuleHighVolume, `{"destructive_patterns":[]}`,
			[]string{"conditions.threshold", "conditions.window"}},
		{"repeated_failure empty", vigil.RuleRepeatedFailure, `{}`, []string{"conditions.threshold", "conditions.window"}},
		{"repeated_failure zero", vigil.RuleRepeatedFailure, `{"threshold":0,"window":"-1m"}`,
			[]string{"conditions.threshold", "conditions.window"}},
		{"repeated_failure unknown", vigil.RuleRepeatedFailure, `{"threshold":3,"window":"5m","by":"actor"}`,
			[]string{"conditions.by"}},
		{"watchlist empty", vigil.RuleWatchlist, `{}`, []string{"conditions.patients"}},
		{"watchlist empty lists", vigil.RuleWatchlist, `{"patients":[],"actors":[]}`, []string{"conditions.patients"}},
		{"watchlist bad ids", vigil.RuleWatchlist, `{"patients":["p1",""],"actors":["a","` + strings.Repeat("x", 256) + `"]}`,
			[]string{"conditions.actors[1]", "conditions.patients[1]"}},
		{"watchlist mistyped", vigil.RuleWatchlist, `{"patients":"p1"}`, []string{"conditions.patients"}},
		{"tamper has no conditions", vigil.RuleTamper, `{"sequence":3}`, []string{"conditions.sequence"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := alert.ParseConditions(tt.typ, json.RawMessage(tt.conditions))
			if err == nil {
				t.Fatalf("ParseConditions = %+v, want an error", c)
			}
			if code := vigil.ErrorCode(err); code != vigil.EINVALID {
				t.Fatalf("code = %s, want %s (%v)", code, vigil.EINVALID, err)
			}
			if got := fieldsOf(err); !slices.Equal(got, tt.fields) {
				t.Fatalf("fields = %v, want %v (%v)", got, tt.fields, err)
			}
			for _, d := range vigil.ErrorDetails(err) {
				if d.Message == "" {
					t.Errorf("detail %s has no message", d.Field)
				}
			}
		})
	}
}

// TestParseConditionsNormalises checks that valid conditions marshal back
// in normalised form, with defaults, which is what the store keeps.
func TestParseConditionsNormalises(t *testing.T) {
	tests := []struct{ typ, in, out string }{
		{vigil.RuleOffHours,
			`{"action_pattern":"patient_record.*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6,"days":["Sunday","SAT","sun"]}`,
			`{"action_pattern":"patient_record.*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6,"days":["sun","sat"]}`},
		{vigil.RuleOffHours, // the seed's example, with days null (absent)
			`{"action_pattern":"patient_record.*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6,"days":null}`,
			`{"action_pattern":"patient_record.*","timezone":"America/Los_Angeles","start_hour":20,"end_hour":6}`},
		{vigil.RuleNewCountry, `{"action_pattern":"*.accessed"}`,
			`{"action_pattern":"*.accessed","lookback":"90d","alert_on_first":false}`},
		{vigil.RuleNewCountry, `{"lookback":"720h"}`, `{"action_pattern":"*","lookback":"30d","alert_on_first":false}`},
		{vigil.RuleNewCountry, `{"lookback":"36h","alert_on_first":true}`, `{"action_pattern":"*","lookback":"36h","alert_on_first":true}`},
		{vigil.RuleHighVolume, `{"threshold":50,"window":"90m"}`,
			`{"by":"actor","count":"patients","threshold":50,"window":"1h30m","action_pattern":"*"}`},
		{vigil.RuleHighVolume, `{"by":"session","count":"records","threshold":5,"window":"1h","action_pattern":"patient_record.*"}`,
			`{"by":"session","count":"records","threshold":5,"window":"1h","action_pattern":"patient_record.*"}`},
		{vigil.RuleHighVolume, `{"destructive_patterns":["*.deleted","*.exported"]}`,
			`{"by":"actor","count":"patients","action_pattern":"*","destructive_patterns":["*.deleted","*.exported"]}`},
		{vigil.RuleRepeatedFailure, `{"threshold":5,"window":"10m"}`, `{"threshold":5,"window":"10m","action_pattern":"*"}`},
		{vigil.RuleWatchlist, `{"patients":["p1","p2","p1"]}`, `{"patients":["p1","p2"],"action_pattern":"*"}`},
		{vigil.RuleTamper, ``, `{}`},
		{vigil.RuleTamper, `{}`, `{}`},
	}
	for _, tt := range tests {
		c, err := alert.ParseConditions(tt.typ, json.RawMessage(tt.in))
		if err != nil {
			t.Errorf("ParseConditions(%s, %s): %v", tt.typ, tt.in, err)
			continue
		}
		if c.Type() != tt.typ {
			t.Errorf("Type() = %s, want %s", c.Type(), tt.typ)
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tt.out {
			t.Errorf("ParseConditions(%s, %s) marshals to\n%s, want\n%s", tt.typ, tt.in, b, tt.out)
		}
		// The normalised form parses to itself.
		c2, err := alert.ParseConditions(tt.typ, b)
		if err != nil {
			t.Errorf("reparse %s: %v", b, err)
			continue
		}
		if b2, _ := json.Marshal(c2); string(b2) != string(b) {
			t.Errorf("reparse of %s gives %s", b, b2)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	def := vigil.AlertRule{
		Name:       "",
		Type:       vigil.RuleHighVolume,
		Conditions: json.RawMessage(`{"threshold":0,"window":"1h"}`),
		Channels:   []string{"email", "", "email"},
		Throttle:   -time.Minute,
	}
	_, err := alert.Compile(def)
	want := []string{"channels[1]", "channels[2]", "conditions.threshold", "name", "throttle"}
	if got := fieldsOf(err); !slices.Equal(got, want) {
		t.Fatalf("fields = %v, want %v (%v)", got, want, err)
	}
	def = vigil.AlertRule{Name: "two\nlines", Type: vigil.RuleWatchlist, Conditions: json.RawMessage(`{"actors":["a"]}`)}
	if got := fieldsOf(must(alert.Compile(def))); !slices.Equal(got, []string{"name"}) {
		t.Fatalf("fields = %v, want [name]", got)
	}
}

func must(_ *alert.Rule, err error) error { return err }

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"30d": 30 * 24 * time.Hour, "720h": 720 * time.Hour, "90s": 90 * time.Second, "1h30m": 90 * time.Minute,
	} {
		d, err := alert.ParseDuration(in)
		if err != nil || time.Duration(d) != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", in, d, err, want)
		}
	}
	for _, in := range []string{"", "d", "1.5d", "-3d", "30 d", "1d12h", "week"} {
		if d, err := alert.ParseDuration(in); err == nil {
			t.Errorf("ParseDuration(%q) = %v, want an error", in, d)
		}
	}
}
