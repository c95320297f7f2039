package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// OutboxBackend is what RunOutbox exercises: the outbox, and the alerts
// whose notifications it holds.
type OutboxBackend interface {
	vigil.KeyStore
	vigil.AlertStore
	vigil.Outbox
	Close() error
}

// OutboxOpener opens a fresh, empty store whose clock is now, and the way
// alerts (with their deliveries) are raised in it; the suite closes it.
type OutboxOpener func(t *testing.T, now func() time.Time) (OutboxBackend, RaiseFunc)

// RunOutbox is the conformance suite of vigil.Outbox.
func RunOutbox(t *testing.T, open OutboxOpener) {
	t.Run("Due", func(t *testing.T) { testOutboxDue(t, open) })
	t.Run("Limit", func(t *testing.T) { testOutboxLimit(t, open) })
	t.Run("Delivered", func(t *testing.T) { testOutboxDelivered(t, open) })
	t.Run("Backoff", func(t *testing.T) { testOutboxBackoff(t, open) })
	t.Run("GiveUp", func(t *testing.T) { testOutboxGiveUp(t, open) })
	t.Run("Workspaces", func(t *testing.T) { testOutboxWorkspaces(t, open) })
}

func openOutbox(t *testing.T, open OutboxOpener) (OutboxBackend, RaiseFunc, *Clock) {
	t.Helper()
	c := NewClock()
	s, raise := open(t, c.Now)
	t.Cleanup(func() { s.Close() })
	ensure(t, s, "ws", "other")
	return s, raise, c
}

// due lists the deliveries due at now as "channel:alert#attempts".
func due(t *testing.T, s vigil.Outbox, now time.Time, limit int) ([]vigil.Delivery, string) {
	t.Helper()
	ds, err := s.DueDeliveries(ctx(t), now, limit)
	if err != nil {
		t.Fatalf("DueDeliveries: %v", err)
	}
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%s:%s#%d", d.Channel, d.Alert.ID, d.Attempts)
	}
	return ds, strings.Join(parts, " ")
}

func dueWant(items ...any) string {
	var parts []string
	for i := 0; i < len(items); i += 3 {
		parts = append(parts, fmt.Sprintf("%s:%s#%d", items[i], items[i+1].(vigil.Alert).ID, items[i+2]))
	}
	return strings.Join(parts, " ")
}

// testOutboxDue: a raised alert's deliveries are due at once, one per
// channel, oldest first, each carrying its alert as stored; an alert
// without channels has none.
func testOutboxDue(t *testing.T, open OutboxOpener) {
	s, raise, c := openOutbox(t, open)
	rule := mustRule(t, s, "ws")
	t0 := c.Now()
	if _, got := due(t, s, t0, 10); got != "" {
		t.Fatalf("an empty outbox has deliveries due: %s", got)
	}
	in1 := sampleAlert(rule, 1, "t1", t0)
	a1 := mustRaise(t, raise, "ws", in1, "email", "ops-webhook")
	in2 := sampleAlert(rule, 2, "", t0.Add(time.Second))
	a2 := mustRaise(t, raise, "ws", in2, "ops-webhook")
	mustRaise(t, raise, "ws", sampleAlert(rule, 3, "", t0.Add(2*time.Second)))
	ds, got := due(t, s, t0.Add(time.Minute), 10)
	if want := dueWant("email", a1, 0, "ops-webhook", a1, 0, "ops-webhook", a2, 0); got != want {
		t.Fatalf("due\n %s, want\n %s", got, want)
	}
	sameAlert(t, "delivery 0's alert", ds[0].Alert, stored(in1, a1.ID, "ws"))
	sameAlert(t, "delivery 1's alert", ds[1].Alert, stored(in1, a1.ID, "ws"))
	sameAlert(t, "delivery 2's alert", ds[2].Alert, stored(in2, a2.ID, "ws"))
	if ds[0].ID == ds[1].ID || ds[1].ID == ds[2].ID || ds[0].ID == ds[2].ID {
		t.Fatalf("deliveries share ids: %d %d %d", ds[0].ID, ds[1].ID, ds[2].ID)
	}
	// Reading the outbox claims nothing: the same deliveries stay due.
	if _, again := due(t, s, t0.Add(time.Minute), 10); again != got {
		t.Fatalf("due on a second read\n %s, want\n %s", again, got)
	}
}

func testOutboxLimit(t *testing.T, open OutboxOpener) {
	s, raise, c := openOutbox(t, open)
	rule := mustRule(t, s, "ws")
	var as []vigil.Alert
	for i := range 5 {
		as = append(as, mustRaise(t, raise, "ws", sampleAlert(rule, int64(i), "", c.Advance(time.Second)), "email"))
	}
	if _, got := due(t, s, c.Now(), 2); got != dueWant("email", as[0], 0, "email", as[1], 0) {
		t.Fatalf("due(limit 2) = %s", got)
	}
	if _, got := due(t, s, c.Now(), 5); got != dueWant("email", as[0], 0, "email", as[1], 0, "email", as[2], 0, "email", as[3], 0, "email", as[4], 0) {
		t.Fatalf("due(limit 5) = %s", got)
	}
}

// testOutboxDelivered: a delivered delivery is never due again; the
// alert's NotifiedAt is the time of its first delivery, whichever channel.
func testOutboxDelivered(t *testing.T, open OutboxOpener) {
	s, raise, c := openOutbox(t, open)
	rule := mustRule(t, s, "ws")
	in := sampleAlert(rule, 1, "", c.Now())
	a := mustRaise(t, raise, "ws", in, "email", "ops-webhook")
	b := mustRaise(t, raise, "ws", sampleAlert(rule, 2, "", c.Now()), "email")
	ds, _ := due(t, s, c.Now(), 10)
	if len(ds) != 3 {
		t.Fatalf("%d deliveries due, want 3", len(ds))
	}
	first := c.Advance(5 * time.Second)
	if err := s.Delivered(ctx(t), ds[1].ID, first); err != nil {
		t.Fatal(err)
	}
	if _, got := due(t, s, first.Add(24*time.Hour), 10); got != dueWant("email", a, 0, "email", b, 0) {
		t.Fatalf("due after delivering a's webhook = %s", got)
	}
	got, err := s.Alert(ctx(t), "ws", "", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := stored(in, a.ID, "ws")
	want.NotifiedAt = first
	sameAlert(t, "alert after its first delivery", got, want)
	if err := s.Delivered(ctx(t), ds[0].ID, c.Advance(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Alert(ctx(t), "ws", "", a.ID); err != nil {
		t.Fatal(err)
	}
	sameAlert(t, "alert after its second delivery", got, want)
	if other, err := s.Alert(ctx(t), "ws", "", b.ID); err != nil || !other.NotifiedAt.IsZero() {
		t.Fatalf("b's NotifiedAt = %v %v: delivering a's notifications notified b", other.NotifiedAt, err)
	}
	if _, got := due(t, s, first.Add(24*time.Hour), 10); got != dueWant("email", b, 0) {
		t.Fatalf("due after delivering a's = %s", got)
	}
}

// testOutboxBackoff: a failed attempt is due again at the next time it
// names, with its attempts counted, and not before; the deliveries due
// meanwhile come first.
func testOutboxBackoff(t *testing.T, open OutboxOpener) {
	s, raise, c := openOutbox(t, open)
	rule := mustRule(t, s, "ws")
	t0 := c.Now()
	a := mustRaise(t, raise, "ws", sampleAlert(rule, 1, "", t0), "email")
	ds, _ := due(t, s, t0, 10)
	if len(ds) != 1 {
		t.Fatalf("%d due, want 1", len(ds))
	}
	id := ds[0].ID
	if err := s.DeliveryFailed(ctx(t), id, 1, t0.Add(time.Minute), "smtp: 451 try again"); err != nil {
		t.Fatal(err)
	}
	b := mustRaise(t, raise, "ws", sampleAlert(rule, 2, "", t0.Add(10*time.Second)), "email")
	if _, got := due(t, s, t0.Add(59*time.Second), 10); got != dueWant("email", b, 0) {
		t.Fatalf("due before the retry = %s", got)
	}
	if _, got := due(t, s, t0.Add(time.Minute), 10); got != dueWant("email", b, 0, "email", a, 1) {
		t.Fatalf("due at the retry = %s", got)
	}
	if err := s.DeliveryFailed(ctx(t), id, 2, t0.Add(5*time.Minute), "smtp: 451 try again"); err != nil {
		t.Fatal(err)
	}
	if _, got := due(t, s, t0.Add(4*time.Minute), 10); got != dueWant("email", b, 0) {
		t.Fatalf("due before the second retry = %s", got)
	}
	if _, got := due(t, s, t0.Add(5*time.Minute), 10); got != dueWant("email", b, 0, "email", a, 2) {
		t.Fatalf("due at the second retry = %s", got)
	}
	if err := s.Delivered(ctx(t), id, t0.Add(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, got := due(t, s, t0.Add(time.Hour), 10); got != dueWant("email", b, 0) {
		t.Fatalf("due after the retry succeeded = %s", got)
	}
	got, err := s.Alert(ctx(t), "ws", "", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameTime(t, "NotifiedAt after failures then success", got.NotifiedAt, t0.Add(5*time.Minute))
}

// testOutboxGiveUp: a delivery given up (no next time) is never due
// again and leaves its alert unnotified; its alert's other channels are
// unaffected.
func testOutboxGiveUp(t *testing.T, open OutboxOpener) {
	s, raise, c := openOutbox(t, open)
	rule := mustRule(t, s, "ws")
	a := mustRaise(t, raise, "ws", sampleAlert(rule, 1, "", c.Now()), "email", "ops-webhook")
	ds, _ := due(t, s, c.Now(), 10)
	if len(ds) != 2 {
		t.Fatalf("%d due, want 2", len(ds))
	}
	if err := s.DeliveryFailed(ctx(t), ds[0].ID, 8, time.Time{}, "smtp: 550 no such mailbox"); err != nil {
		t.Fatal(err)
	}
	if _, got := due(t, s, c.Now().Add(365*24*time.Hour), 10); got != dueWant("ops-webhook", a, 0) {
		t.Fatalf("due after giving up the email = %s", got)
	}
	got, err := s.Alert(ctx(t), "ws", "", a.ID)
	if err != nil || !got.NotifiedAt.IsZero() {
		t.Fatalf("NotifiedAt after giving up = %v %v, want zero", got.NotifiedAt, err)
	}
}

// testOutboxWorkspaces: one outbox serves every workspace, and each
// delivery carries its own workspace's alert.
func testOutboxWorkspaces(t *testing.T, open OutboxOpener) {
	s, raise, c := openOutbox(t, open)
	ra, rb := mustRule(t, s, "ws"), mustRule(t, s, "other")
	inA := sampleAlert(ra, 1, "", c.Now())
	a := mustRaise(t, raise, "ws", inA, "email")
	inB := sampleAlert(rb, 1, "", c.Advance(time.Second))
	b := mustRaise(t, raise, "other", inB, "email")
	ds, got := due(t, s, c.Now(), 10)
	if got != dueWant("email", a, 0, "email", b, 0) {
		t.Fatalf("due = %s", got)
	}
	sameAlert(t, "ws's delivery", ds[0].Alert, stored(inA, a.ID, "ws"))
	sameAlert(t, "other's delivery", ds[1].Alert, stored(inB, b.ID, "other"))
	if err := s.Delivered(ctx(t), ds[1].ID, c.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Alert(ctx(t), "ws", "", a.ID); err != nil || !got.NotifiedAt.IsZero() {
		t.Fatalf("delivering other's notified ws's alert: %v %v", got.NotifiedAt, err)
	}
}
