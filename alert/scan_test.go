package alert_test

import (
	"context"
	"errors"
	"iter"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
)

func seqOf(events []vigil.Event, err error) iter.Seq2[vigil.Event, error] {
	return func(yield func(vigil.Event, error) bool) {
		for _, e := range events {
			if !yield(e, nil) {
				return
			}
		}
		if err != nil {
			yield(vigil.Event{}, err)
		}
	}
}

func withoutTimes(alerts []vigil.Alert) []vigil.Alert {
	out := make([]vigil.Alert, len(alerts))
	for i, a := range alerts {
		a.TriggeredAt = time.Time{}
		out[i] = a
	}
	return out
}

// TestScanMatchesInMotion: a scan over stored events raises exactly the
// alerts that evaluation on arrival raised, although the History by then
// holds later events too.
func TestScanMatchesInMotion(t *testing.T) {
	s := busyDay(t)
	var live []vigil.Alert
	for _, e := range busyEvents() {
		live = append(live, s.send(e)...)
	}
	scanned := s.log
	for _, e := range busyEvents() { // later events, stored but not scanned
		e.IPCountry = "CA"
		s.store(e)
	}
	var got []vigil.Alert
	for a, err := range alert.Scan(context.Background(), s.rules, seqOf(scanned, nil), s.mem) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if len(live) < 5 || !equalAlerts(withoutTimes(got), withoutTimes(live)) {
		t.Fatalf("scan gave\n%+v\nin motion gave\n%+v", got, live)
	}
}

func equalAlerts(a, b []vigil.Alert) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScanErrors(t *testing.T) {
	s := busyDay(t)
	for _, e := range busyEvents() {
		s.store(e)
	}
	boom := errors.New("read failed")
	var n int
	var last error
	for _, err := range alert.Scan(context.Background(), s.rules, seqOf(s.log, boom), s.mem) {
		if err != nil {
			last = err
			continue
		}
		n++
	}
	if !errors.Is(last, boom) || n == 0 {
		t.Errorf("scan: %d alerts then %v; want alerts then the read error", n, last)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range alert.Scan(ctx, s.rules, seqOf(s.log, nil), s.mem) {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled scan: %v", err)
		}
	}

	// The consumer may stop early.
	for range alert.Scan(context.Background(), s.rules, seqOf(s.log, nil), s.mem) {
		break
	}
}
