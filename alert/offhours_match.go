package alert

import (
	"context"

	"github.com/vigilhq/vigil"
)

// Matches reports whether e is an off-hours access under c (its action
// matches and its instant is off-hours), with the reason an alert would
// give. The off-hours report uses it so the report and the alert rule
// share one definition.
func (c *OffHours) Matches(e *vigil.Event) (reason string, ok bool) {
	f, ok, _ := c.evaluate(context.Background(), e, nil)
	return f.reason, ok
}
