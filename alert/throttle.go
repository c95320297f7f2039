package alert

import "time"

// Decision says what to do with a new alert's notification.
type Decision int

const (
	// Notify: send the notification and record now as the subject's last
	// notification.
	Notify Decision = iota + 1
	// Suppress: store the alert, count it on the last notified alert
	// (vigil.Alert.Suppressed), send nothing.
	Suppress
)

func (d Decision) String() string {
	switch d {
	case Notify:
		return "notify"
	case Suppress:
		return "suppress"
	}
	return "invalid"
}

// Throttle decides whether an alert of a rule for a subject notifies,
// given when that rule and subject last notified (zero if never) and the
// rule's throttle period (zero: never throttled). It notifies once a full
// period lies between lastNotified and now. The distance is taken either
// way round so that a clock stepped back by more than a period cannot
// silence a subject for as long as the step.
func Throttle(lastNotified, now time.Time, period time.Duration) Decision {
	if lastNotified.IsZero() || period <= 0 {
		return Notify
	}
	d := now.Sub(lastNotified)
	if d >= period || d <= -period {
		return Notify
	}
	return Suppress
}
