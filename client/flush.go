package client

import (
	"context"
	"fmt"
)

// flush waits until every event appended before the call is acknowledged
// by the server (or set aside as refused).
func (s *spool) flush(ctx context.Context) error {
	s.mu.Lock()
	g := s.cur
	if len(s.pending) == 0 {
		g = s.inWrite
	}
	target := s.durable
	s.mu.Unlock()
	if g != nil {
		select {
		case <-g.done:
			target = g.end
		case <-ctx.Done():
			return fmt.Errorf("client: flushing the spool: %w", ctx.Err())
		}
	}
	for {
		s.mu.Lock()
		acked, ch := s.acked, s.changed
		s.mu.Unlock()
		if acked >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			acked, last := s.acked, s.lastErr
			s.mu.Unlock()
			msg := fmt.Sprintf("client: %d spooled bytes are not yet acknowledged by the server", target-acked)
			if last != nil {
				msg += fmt.Sprintf(" (last delivery failure: %v)", last)
			}
			return fmt.Errorf("%s: %w", msg, ctx.Err())
		}
	}
}

// Flush waits until every event spooled before the call is delivered:
// acknowledged by the server, or set aside as refused (see WithSpool).
// Without a spool, Track is synchronous and Flush returns at once. When
// ctx ends first, the error says how much is left; nothing is lost.
func (c *Client) Flush(ctx context.Context) error {
	if c.spool == nil {
		return nil
	}
	if c.isClosed() {
		return ErrClosed
	}
	return c.spool.flush(ctx)
}
