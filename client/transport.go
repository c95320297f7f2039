package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/vigilhq/vigil/api"
)

// maxAnswer bounds what the client reads of one answer; the largest real
// answer is a page of 100 events.
const maxAnswer = 64 << 20

// answer is the outcome of one HTTP attempt.
type answer struct {
	body          []byte
	retryAfter    time.Duration // the server's Retry-After, if hasRetryAfter
	hasRetryAfter bool
}

// do sends one request, retrying network errors and temporary answers as
// the retry policy allows. Bodies must be safe to send twice: event
// bodies are, by their idempotency keys; reads are. A 2xx JSON answer is
// decoded into out (or copied, if out is a *[]byte); any other answer is
// an *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	p := c.retry
	start := time.Now()
	for n := 1; ; n++ {
		a, err := c.attempt(ctx, method, path, query, body)
		if err == nil {
			return decodeAnswer(a.body, out, method, path)
		}
		if !retryable(ctx, err) || n >= p.MaxAttempts {
			return err
		}
		wait := p.backoff(n)
		if a.hasRetryAfter {
			wait = a.retryAfter
		}
		if time.Since(start)+wait > p.MaxElapsed {
			return err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return err // the caller's deadline would end the wait anyway
		}
		c.log.Debug("vigil client: retrying", "method", method, "path", path, "attempt", n, "in", wait, "err", err)
		if serr := sleepCtx(ctx, wait); serr != nil {
			return fmt.Errorf("%w (giving up: %w)", err, serr)
		}
	}
}

// retryable reports whether a failed attempt may be tried again: a
// temporary answer, or a network error while the caller still waits.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Temporary()
	}
	return true
}

func decodeAnswer(body []byte, out any, method, path string) error {
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = body
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("client: decoding the answer to %s %s: %w", method, path, err)
	}
	return nil
}

// attempt makes one HTTP request, bounded by the client's timeout.
func (c *Client) attempt(ctx context.Context, method, path string, query url.Values, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return answer{}, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return answer{}, fmt.Errorf("client: %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return answer{body: raw}, nil
	}
	a := answer{}
	a.retryAfter, a.hasRetryAfter = retryAfter(resp.Header, time.Now())
	return a, answerError(resp.StatusCode, raw)
}

// answerError turns an error answer into *Error, keeping the server's code
// when the body is the documented error shape (a proxy's answer may not
// be).
func answerError(status int, body []byte) *Error {
	var b api.Error
	if json.Unmarshal(body, &b) == nil && b.Error != "" {
		return &Error{Status: status, Code: b.Error, Message: b.Message, Details: b.Details}
	}
	return &Error{Status: status, Code: fmt.Sprintf("http_%d", status), Message: http.StatusText(status)}
}
