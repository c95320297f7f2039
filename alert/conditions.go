package alert

import (
	"context"
	"encoding/json"

	"github.com/vigilhq/vigil"
)

// Conditions are one rule type's parameters, parsed and validated. The
// concrete types are [*OffHours], [*NewCountry], [*HighVolume],
// [*RepeatedFailure], [*Watchlist] and [*TamperConditions]; each marshals
// back to JSON in normalised form (defaults filled in), which is what the
// store should keep and the API show.
type Conditions interface {
	// Type returns the rule type, one of the vigil.Rule* constants.
	Type() string

	// evaluate decides whether e fires the rule. It is unexported so that
	// the set of rule types stays the one documented here.
	evaluate(ctx context.Context, e *vigil.Event, h History) (finding, bool, error)
}

// finding is what a firing rule says about the event.
type finding struct {
	subject string // the throttling key
	reason  string
}

// RuleTypes lists the rule types ParseConditions accepts.
var RuleTypes = []string{
	vigil.RuleOffHours, vigil.RuleNewCountry, vigil.RuleHighVolume,
	vigil.RuleRepeatedFailure, vigil.RuleWatchlist, vigil.RuleTamper,
}

// ParseConditions decodes and validates the conditions of a rule type.
// Errors are vigil.Invalid with one detail per problem, each naming its
// field: "rule_type" for an unknown type, "conditions" when the value is
// not a JSON object, "conditions.<field>" otherwise (unknown, repeated,
// missing, mistyped or out of range). Null or absent conditions are an
// empty object.
func ParseConditions(ruleType string, raw json.RawMessage) (Conditions, error) {
	parse, ok := parsers[ruleType]
	if !ok {
		msg := "must be one of off_hours, new_country, high_volume, repeated_failure, watchlist, tamper"
		if ruleType == "" {
			msg = "is required"
		}
		return nil, vigil.Invalid(vigil.ErrorDetail{Field: "rule_type", Message: msg})
	}
	f := decodeFields(raw, "conditions.")
	if len(f.details) > 0 { // not an object: field errors would only repeat that
		return nil, vigil.Invalid(f.details...)
	}
	c := parse(f)
	if err := f.err(); err != nil {
		return nil, err
	}
	return c, nil
}

var parsers = map[string]func(*fields) Conditions{
	vigil.RuleOffHours:        parseOffHours,
	vigil.RuleNewCountry:      parseNewCountry,
	vigil.RuleHighVolume:      parseHighVolume,
	vigil.RuleRepeatedFailure: parseRepeatedFailure,
	vigil.RuleWatchlist:       parseWatchlist,
	vigil.RuleTamper:          parseTamper,
}
