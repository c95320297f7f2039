package alert_test

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil/alert"
)

func TestThrottle(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	hour := time.Hour
	tests := []struct {
		name   string
		last   time.Time
		now    time.Time
		period time.Duration
		want   alert.Decision
	}{
		{"never notified", time.Time{}, t0, hour, alert.Notify},
		{"no throttle", t0, t0, 0, alert.Notify},
		{"inside the period", t0, t0.Add(59 * time.Minute), hour, alert.Suppress},
		{"same instant", t0, t0, hour, alert.Suppress},
		{"period reached", t0, t0.Add(hour), hour, alert.Notify},
		{"long after", t0, t0.Add(48 * hour), hour, alert.Notify},
		{"clock stepped back a little", t0, t0.Add(-time.Minute), hour, alert.Suppress},
		{"clock stepped back a lot", t0, t0.Add(-24 * hour), hour, alert.Notify},
	}
	for _, tt := range tests {
		if got := alert.Throttle(tt.last, tt.now, tt.period); got != tt.want {
			t.Errorf("%s: Throttle = %v, want %v", tt.name, got, tt.want)
		}
	}
}
