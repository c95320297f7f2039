package nats_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/nats"
)

func open(t *testing.T, srv testServer, name string, opts nats.Options) *nats.Stream {
	t.Helper()
	s, err := nats.Open(ctxT(t), srv.url, name, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func publish(t *testing.T, s *nats.Stream, ws, key string, body string) nats.Published {
	t.Helper()
	p, err := s.Publish(ctxT(t), ws, []byte(body), key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// consumeN consumes until n messages were handled successfully, and
// returns them; it fails the test after 20s.
func consumeN(t *testing.T, s *nats.Stream, n int) []nats.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctxT(t), 20*time.Second)
	defer cancel()
	var got []nats.Msg
	err := s.Consume(ctx, func(_ context.Context, msgs []nats.Msg) error {
		got = append(got, msgs...)
		if len(got) >= n {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || len(got) < n {
		t.Fatalf("Consume: %v after %d of %d messages", err, len(got), n)
	}
	return got
}

// info reports the stream's stored messages and the consumer's
// unacknowledged ones, as the server counts them.
func info(t *testing.T, srv testServer, name string) (stored uint64, ackPending int) {
	t.Helper()
	nc, err := natsgo.Connect(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	st, err := js.Stream(ctxT(t), name)
	if err != nil {
		t.Fatal(err)
	}
	si, err := st.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	c, err := st.Consumer(ctxT(t), "vigil-sequencer")
	if err != nil {
		t.Fatal(err)
	}
	ci, err := c.Info(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	return si.State.Msgs, ci.NumAckPending
}

func bodies(msgs []nats.Msg) string {
	var s []string
	for _, m := range msgs {
		s = append(s, fmt.Sprintf("%s/%s:%s", m.Workspace, m.Key, m.Body))
	}
	return fmt.Sprint(s)
}

// TestRedeliveryAfterHandlerError: a batch whose handler fails is handed
// back, Consume says why, and the next Consume gets the same messages
// again, marked as delivered twice.
func TestRedeliveryAfterHandlerError(t *testing.T) {
	eachServer(t, func(t *testing.T, srv testServer) {
		name := streamName(t, srv)
		s := open(t, srv, name, nats.Options{})
		for i := range 3 {
			publish(t, s, "ws", fmt.Sprint("k", i), fmt.Sprint("e", i))
		}
		boom := errors.New("the database is down")
		var first []nats.Msg
		err := s.Consume(ctxT(t), func(_ context.Context, msgs []nats.Msg) error {
			first = append(first, msgs...)
			return boom
		})
		if !errors.Is(err, boom) || len(first) == 0 {
			t.Fatalf("Consume = %v after %d messages, want the handler's error", err, len(first))
		}
		got := consumeN(t, s, 3)
		if want := "[ws/k0:e0 ws/k1:e1 ws/k2:e2]"; bodies(got) != want {
			t.Fatalf("after the failure: %s, want %s", bodies(got), want)
		}
		for _, m := range got[:len(first)] {
			if m.Delivered != 2 {
				t.Errorf("message %d delivered %d times, want 2", m.Sequence, m.Delivered)
			}
		}
		if stored, pending := info(t, srv, name); stored != 0 || pending != 0 {
			t.Fatalf("after success: %d stored, %d unacknowledged", stored, pending)
		}
	})
}

// TestDuplicateMsgID: a second publish of the same workspace and key is
// dropped by the server (its PubAck says so) and delivered once; the same
// key in another workspace is another event.
func TestDuplicateMsgID(t *testing.T) {
	eachServer(t, func(t *testing.T, srv testServer) {
		name := streamName(t, srv)
		s := open(t, srv, name, nats.Options{})
		p1 := publish(t, s, "ws", "key-1", "first")
		p2 := publish(t, s, "ws", "key-1", "retry")
		p3 := publish(t, s, "other", "key-1", "other's")
		p4 := publish(t, s, "ws", "", "no key")
		p5 := publish(t, s, "ws", "", "no key")
		if p1.Duplicate || !p2.Duplicate || p2.Sequence != p1.Sequence || p3.Duplicate || p4.Duplicate || p5.Duplicate {
			t.Fatalf("publishes answered %+v %+v %+v %+v %+v", p1, p2, p3, p4, p5)
		}
		got := consumeN(t, s, 4)
		if want := "[ws/key-1:first other/key-1:other's ws/:no key ws/:no key]"; bodies(got) != want {
			t.Fatalf("consumed %s, want %s", bodies(got), want)
		}
		if _, err := s.Publish(ctxT(t), "a/b", nil, "k"); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("a workspace with '/': %v, want EINVALID", err)
		}
	})
}

// TestAckOnlyAfterSuccess: while the handler works the messages stay in
// the stream, unacknowledged; once it returns nil they are acknowledged
// and gone.
func TestAckOnlyAfterSuccess(t *testing.T) {
	eachServer(t, func(t *testing.T, srv testServer) {
		name := streamName(t, srv)
		s := open(t, srv, name, nats.Options{})
		for i := range 5 {
			publish(t, s, "ws", fmt.Sprint("k", i), "e")
		}
		ctx, cancel := context.WithCancel(ctxT(t))
		inHandler, release := make(chan int), make(chan struct{})
		var handled int
		done := make(chan error, 1)
		go func() {
			done <- s.Consume(ctx, func(_ context.Context, msgs []nats.Msg) error {
				inHandler <- len(msgs)
				<-release
				handled += len(msgs)
				if handled == 5 {
					cancel()
				}
				return nil
			})
		}()
		n := <-inHandler
		if stored, pending := info(t, srv, name); stored != 5 || pending != n {
			t.Fatalf("while the handler holds %d: %d stored, %d unacknowledged", n, stored, pending)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			for range inHandler {
			}
		})
		close(release)
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		close(inHandler)
		wg.Wait()
		if stored, pending := info(t, srv, name); stored != 0 || pending != 0 {
			t.Fatalf("after success: %d stored, %d unacknowledged", stored, pending)
		}
	})
}

// TestConsumerRestartResumes: a consumer that stops (its process ends)
// and starts again goes on after the last acknowledged message; with the
// in-process server, a restart of the server loses neither the published
// messages nor the consumer's place.
func TestConsumerRestartResumes(t *testing.T) {
	eachServer(t, func(t *testing.T, srv testServer) {
		name := streamName(t, srv)
		// A pull that was in flight when the first consumer stopped may
		// have been delivered to it unseen: the server gives it again
		// after AckWait, kept short here so the test does not wait 30 s.
		opts := nats.Options{Batch: 4, AckWait: 2 * time.Second}
		s := open(t, srv, name, opts)
		for i := range 10 {
			publish(t, s, "ws", fmt.Sprint("k", i), fmt.Sprint(i))
		}
		first := consumeN(t, s, 4)
		if len(first) != 4 {
			t.Fatalf("first consumer handled %d, want one batch of 4", len(first))
		}
		s.Close()
		if srv.restart != nil {
			srv.restart(t)
		}
		s = open(t, srv, name, opts)
		rest := consumeN(t, s, 6)
		sort.Slice(rest, func(i, j int) bool { return rest[i].Sequence < rest[j].Sequence })
		if want := "[ws/k4:4 ws/k5:5 ws/k6:6 ws/k7:7 ws/k8:8 ws/k9:9]"; bodies(rest) != want {
			t.Fatalf("after the restart: %s, want %s", bodies(rest), want)
		}
	})
}
