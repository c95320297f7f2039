package alert

import (
	"context"
	"iter"

	"github.com/vigilhq/vigil"
)

// Scan evaluates rules over stored events ("at rest"), typically a range
// read from the store in sequence order, and yields the alerts as they are
// found. Each event is judged against its own past only (History
// look-ups end at its sequence), so a scan gives the alerts that
// evaluation on arrival gave or would have given; the caller dedupes by
// the unique (rule id, sequence) pair when storing. Scan stops at the
// first error, of events, of h or of ctx, and yields it with a zero
// alert.
func Scan(ctx context.Context, rules []*Rule, events iter.Seq2[vigil.Event, error], h History) iter.Seq2[vigil.Alert, error] {
	return func(yield func(vigil.Alert, error) bool) {
		for e, err := range events {
			if err == nil {
				err = ctx.Err()
			}
			if err != nil {
				yield(vigil.Alert{}, err)
				return
			}
			for _, r := range rules {
				a, err := r.evaluate(ctx, &e, h)
				if err != nil {
					yield(vigil.Alert{}, err)
					return
				}
				if a != nil && !yield(*a, nil) {
					return
				}
			}
		}
	}
}
