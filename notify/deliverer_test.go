package notify_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/embedded"
	"github.com/vigilhq/vigil/notify"
	"github.com/vigilhq/vigil/sqlite"
)

// outboxWith opens a real store holding one alert for the channels
// named, and returns it with the alert's id.
func outboxWith(t *testing.T, channels ...string) (*embedded.Store, string) {
	t.Helper()
	ctx := context.Background()
	db, err := embedded.Open(ctx, embedded.Config{ReadWait: time.Minute, SQLite: sqlite.Config{Path: filepath.Join(t.TempDir(), "vigil.db")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.EnsureWorkspace(ctx, "ws"); err != nil {
		t.Fatal(err)
	}
	cond, _ := json.Marshal(map[string]any{"actors": []string{"emp_1"}})
	if _, err := db.CreateRule(ctx, vigil.AlertRule{Workspace: "ws", Name: "watch", Type: vigil.RuleWatchlist,
		Conditions: cond, Channels: channels, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(ctx, "ws", []vigil.Event{{ActorID: "emp_1", Action: "x.viewed"}}); err != nil {
		t.Fatal(err)
	}
	if n, err := db.AlertEvaluator(sqlite.AlertOptions{}).Pass(ctx); err != nil || n != 1 {
		t.Fatalf("%d alerts, %v", n, err)
	}
	page, err := db.Alerts(ctx, vigil.AlertQuery{Workspace: "ws"})
	if err != nil {
		t.Fatal(err)
	}
	return db, page.Alerts[0].ID
}

func TestDelivererRetriesWithBackoff(t *testing.T) {
	db, id := outboxWith(t, "webhook", "pager")
	var calls atomic.Int32
	recv := newReceiver(t, func(w http.ResponseWriter) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	now := time.Now()
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: db, Channels: []notify.Channel{newWebhook(t, recv.URL)},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if n, err := d.DeliverDue(ctx); err != nil || n != 0 {
		t.Fatalf("first round: %d sent, %v", n, err)
	}
	// Nothing is due again before the backoff (at least 2.5 s).
	if due, _ := db.DueDeliveries(ctx, now.Add(2*time.Second), 10); len(due) != 0 {
		t.Fatalf("due during the backoff: %+v", due)
	}
	// A channel the server does not have waits for it, as a failure.
	now = now.Add(10 * time.Second)
	if n, err := d.DeliverDue(ctx); err != nil || n != 1 {
		t.Fatalf("second round: %d sent, %v", n, err)
	}
	got := recv.got()
	if len(got) != 2 {
		t.Fatalf("%d requests", len(got))
	}
	var p notify.Payload
	if err := json.Unmarshal(got[1].body, &p); err != nil || p.ID != id {
		t.Fatalf("retry carried %s, want alert %s (%v)", got[1].body, id, err)
	}
	due, _ := db.DueDeliveries(ctx, now.Add(time.Hour), 10)
	if len(due) != 1 || due[0].Channel != "pager" || due[0].Attempts != 2 {
		t.Fatalf("left in the outbox: %+v", due)
	}
}

// Shutting down in the middle of a send neither loses the delivery nor
// counts the attempt.
func TestDelivererStopsCleanly(t *testing.T) {
	db, _ := outboxWith(t, "webhook")
	release := make(chan struct{})
	recv := newReceiver(t, func(w http.ResponseWriter) { <-release })
	defer close(release)
	d, err := notify.NewDeliverer(notify.DelivererConfig{Outbox: db, Channels: []notify.Channel{newWebhook(t, recv.URL)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(recv.got()) == 0 {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
	}()
	if _, err := d.DeliverDue(ctx); err == nil {
		t.Fatal("no error from a cancelled round")
	}
	due, _ := db.DueDeliveries(context.Background(), time.Now(), 10)
	if len(due) != 1 || due[0].Attempts != 0 {
		t.Fatalf("after the stop: %+v", due)
	}
}

func TestDelivererRefusesTwoChannelsOfOneName(t *testing.T) {
	a, _ := notify.NewWebhook(notify.WebhookConfig{URL: "https://a.test/", Secret: notify.Secret(secret)})
	b, _ := notify.NewWebhook(notify.WebhookConfig{URL: "https://b.test/", Secret: notify.Secret(secret)})
	if _, err := notify.NewDeliverer(notify.DelivererConfig{Channels: []notify.Channel{a, b}}); err == nil {
		t.Fatal("two channels named webhook were accepted")
	}
}
