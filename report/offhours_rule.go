package report

import (
	"context"
	"encoding/json"

	"github.com/vigilhq/vigil"
)

// RuleOffHours is the OffHoursSource of a running server: the conditions
// of the workspace's oldest enabled off_hours alert rule, so the report
// and the alert share one definition of "off hours". A workspace with
// several enabled off_hours rules gets the oldest; a report of another
// window passes it as parameters.
func RuleOffHours(rules vigil.AlertStore) OffHoursSource {
	return func(ctx context.Context, workspace string) (json.RawMessage, bool, error) {
		rs, err := rules.Rules(ctx, workspace)
		if err != nil {
			return nil, false, err
		}
		for _, r := range rs { // oldest first
			if r.Type == vigil.RuleOffHours && r.Enabled {
				return r.Conditions, true, nil
			}
		}
		return nil, false, nil
	}
}
