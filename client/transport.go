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

	"github.com/vigilhq/vigil/api"
)

// do sends one request, retrying network errors, 429 and 5xx gateway
// answers with backoff. Request bodies must be safe to resend: every event
// carries an idempotency key, so a retry never stores twice. It decodes a
// 2xx JSON answer into out, or returns *Error.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, out any) error {
	u := *c.base
	u.Path += path
	u.RawQuery = query.Encode()
	var last error
	for attempt := 1; attempt <= c.retry.attempts(); attempt++ {
		if attempt > 1 {
			if err := sleep(ctx, c.retry.backoff(attempt-1, lastResp(last))); err != nil {
				return errors.Join(err, last)
			}
		}
		raw, err := c.once(ctx, method, u.String(), body)
		if err == nil {
			if out == nil {
				return nil
			}
			if b, ok := out.(*[]byte); ok {
				*b = raw
				return nil
			}
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("client: decoding the answer of %s %s: %w", method, path, err)
			}
			return nil
		}
		last = err
		var apiErr *Error
		if errors.As(err, &apiErr) && !apiErr.Retryable() {
			return err
		}
		if ctx.Err() != nil {
			return errors.Join(ctx.Err(), err)
		}
		c.log.Debug("retrying", "method", method, "path", path, "attempt", attempt, "err", err)
	}
	return last
}

// retryAfterError carries the response of a retryable answer so backoff
// can honour Retry-After.
type retryAfterError struct {
	err  *Error
	resp *http.Response
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

func lastResp(err error) *http.Response {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.resp
	}
	return nil
}

func (c *Client) once(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "vigil-go-client/1")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return raw, nil
	}
	e := &Error{Status: resp.StatusCode}
	var body2 api.Error
	if json.Unmarshal(raw, &body2) == nil && body2.Error != "" {
		e.Code, e.Message, e.Details = body2.Error, body2.Message, body2.Details
	} else {
		e.Code, e.Message = "http_"+fmt.Sprint(resp.StatusCode), http.StatusText(resp.StatusCode)
	}
	if e.Retryable() {
		return nil, &retryAfterError{e, resp}
	}
	return nil, e
}
