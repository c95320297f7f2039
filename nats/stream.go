// Package nats is Vigil's ingest transport over NATS JetStream: API nodes
// publish each accepted event to a stream kept on disk, and the node that
// sequences the log consumes it, acknowledging messages only once the
// events are committed. Delivery is at least once; the store's unique key
// on (workspace, idempotency key) makes a redelivered event a duplicate
// rather than a second event.
package nats

import (
	"context"
	"fmt"
	"strings"
	"time"

	natsgo "github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/vigilhq/vigil"
)

// WorkspaceHeader carries a message's workspace. Workspace names may hold
// characters a subject may not ('.', '*', '>', spaces), so every event goes
// to one subject and the workspace rides in a header.
const WorkspaceHeader = "Vigil-Workspace"

// Options tune the stream and its consumer.
type Options struct {
	// Replicas is the number of servers of a JetStream cluster that keep
	// the stream (1, 3 or 5); 0 is 1. See docs/deploy.md for what R3
	// changes.
	Replicas int
	// Consumer names the durable consumer; "" is "vigil-sequencer".
	Consumer string
	// Batch is the most messages one handler call gets; 0 is 256.
	Batch int
	// AckWait is how long a delivered message may stay unacknowledged
	// before the server delivers it again; 0 is 30s. A handler slower
	// than this sees messages it still holds delivered again.
	AckWait time.Duration
}

// Stream is one JetStream stream of events, for publishing and for
// consuming.
type Stream struct {
	nc       *natsgo.Conn
	js       jetstream.JetStream
	stream   jetstream.Stream
	subject  string
	consumer string
	opts     Options
}

// Open connects to the NATS server at url and creates the stream name, or
// updates its configuration to this one.
//
// The stream is a work queue on file storage: a message is removed once
// its consumer acknowledges it, so the transport holds only events not yet
// committed, not a second copy of the trail. Whether a publish
// acknowledgement means the event is on disk is the server's setting, not
// the stream's: JetStream syncs its files every two minutes unless the
// server is configured with sync_interval: always (docs/deploy.md).
func Open(ctx context.Context, url, name string, opts Options) (*Stream, error) {
	if opts.Consumer == "" {
		opts.Consumer = "vigil-sequencer"
	}
	if opts.Batch <= 0 {
		opts.Batch = 256
	}
	if opts.AckWait <= 0 {
		opts.AckWait = 30 * time.Second
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 1
	}
	nc, err := natsgo.Connect(url, natsgo.Name("vigil"), natsgo.MaxReconnects(-1))
	if err != nil {
		return nil, vigil.Unavailable("the NATS server cannot be reached", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	s := &Stream{nc: nc, js: js, subject: name + ".events", consumer: opts.Consumer, opts: opts}
	s.stream, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "Vigil: events accepted and not yet committed",
		Subjects:    []string{s.subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.WorkQueuePolicy,
		Replicas:    opts.Replicas,
		// The window in which a second publish with the same
		// Nats-Msg-Id is dropped; beyond it the store's unique key
		// de-duplicates.
		Duplicates: 2 * time.Minute,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: stream %s: %w", name, err)
	}
	return s, nil
}

// Close closes the connection.
func (s *Stream) Close() error {
	s.nc.Close()
	return nil
}

// Published is what the server answered a publish.
type Published struct {
	// Sequence is the message's place in the stream.
	Sequence uint64
	// Duplicate: a message with the same workspace and key was published
	// within the duplicate window; this one was dropped, and Sequence is
	// the first one's.
	Duplicate bool
}

// MsgID is the message id JetStream de-duplicates on: the workspace and
// the event's idempotency key, with the '/' no workspace name holds
// between them.
func MsgID(workspace, key string) string { return workspace + "/" + key }

// Publish sends one event's body and returns once the server has stored
// it (its PubAck). key is the event's idempotency key, "" for none: an
// event without one cannot be de-duplicated.
func (s *Stream) Publish(ctx context.Context, workspace string, body []byte, key string) (Published, error) {
	switch {
	case workspace == "" || strings.Contains(workspace, "/"):
		return Published{}, vigil.Invalid(vigil.ErrorDetail{Field: "workspace", Message: "must be a workspace name"})
	case strings.ContainsAny(workspace+key, "\r\n\x00"):
		return Published{}, vigil.Invalid(vigil.ErrorDetail{Field: "workspace", Message: "must not contain control characters"})
	}
	m := natsgo.NewMsg(s.subject)
	m.Data = body
	m.Header.Set(WorkspaceHeader, workspace)
	var opts []jetstream.PublishOpt
	if key != "" {
		opts = append(opts, jetstream.WithMsgID(MsgID(workspace, key)))
	}
	ack, err := s.js.PublishMsg(ctx, m, opts...)
	if err != nil {
		return Published{}, vigil.Unavailable("the ingest stream did not store the event", err)
	}
	return Published{Sequence: ack.Sequence, Duplicate: ack.Duplicate}, nil
}
