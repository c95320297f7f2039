package nats_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const startHint = "start it with: start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log"

// testServer is a NATS server with JetStream for one test.
type testServer struct {
	url string
	// restart stops the server and starts it again on the same store;
	// nil for the machine's server, which the tests do not own.
	restart func(t *testing.T)
}

// eachServer runs test against the machine's NATS server on
// 127.0.0.1:4222 (VIGIL_TEST_NATS) and against one started in-process with
// sync_interval: always, the durable configuration docs/deploy.md gives.
func eachServer(t *testing.T, test func(t *testing.T, srv testServer)) {
	t.Run("Machine", func(t *testing.T) {
		url := os.Getenv("VIGIL_TEST_NATS")
		if url == "" {
			url = "nats://127.0.0.1:4222"
		}
		nc, err := natsgo.Connect(url, natsgo.Timeout(5*time.Second))
		if err != nil {
			t.Fatalf("NATS is not reachable at %s (%v); %s", url, err, startHint)
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		if _, err := js.AccountInfo(ctxT(t)); err != nil {
			t.Fatalf("NATS at %s has no JetStream (%v); %s", url, err, startHint)
		}
		test(t, testServer{url: url})
	})
	t.Run("InProcess", func(t *testing.T) {
		dir := t.TempDir()
		opts := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir,
			SyncAlways: true, NoLog: true, NoSigs: true}
		s := startServer(t, opts)
		srv := testServer{url: s.ClientURL()}
		// Restarting on the same port keeps the clients' URL valid.
		opts.Port = s.Addr().(*net.TCPAddr).Port
		srv.restart = func(t *testing.T) {
			s.Shutdown()
			s.WaitForShutdown()
			s = startServer(t, opts)
		}
		t.Cleanup(func() { s.Shutdown() })
		test(t, srv)
	})
}

func startServer(t *testing.T, opts *server.Options) *server.Server {
	t.Helper()
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("the in-process NATS server did not start")
	}
	return s
}

// streamName is a stream of the test's own, deleted when it ends.
func streamName(t *testing.T, srv testServer) string {
	b := make([]byte, 6)
	rand.Read(b)
	name := "VIGILTEST_" + strings.ToUpper(hex.EncodeToString(b))
	t.Cleanup(func() {
		nc, err := natsgo.Connect(srv.url)
		if err != nil {
			return
		}
		defer nc.Close()
		js, _ := jetstream.New(nc)
		js.DeleteStream(context.Background(), name)
	})
	return name
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}
