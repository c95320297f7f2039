package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil"
)

// HTTPS formats.
const (
	// FormatNDJSON posts application/x-ndjson, one line per event:
	// {"id","workspace","sequence","created_at","audit_event":{FHIR AuditEvent}}.
	FormatNDJSON = "ndjson"
	// FormatHEC posts to a Splunk HTTP Event Collector
	// (/services/collector/event): one event object per line,
	// {"time","host","source":"vigil","sourcetype":"fhir:auditevent",
	// "fields":{"workspace","sequence"},"event":{FHIR AuditEvent}}, with
	// "Authorization: Splunk <token>".
	FormatHEC = "hec"
)

// maxBody bounds one request; a batch that would pass it is sent in parts.
const maxBody = 4 << 20

// HTTPS posts events to an HTTPS endpoint as NDJSON. A batch is delivered
// when the endpoint answers 2xx; any other answer, or none, is a failure
// and the batch is sent again.
type HTTPS struct {
	url      string
	format   string
	token    string
	hostname string
	client   *http.Client
}

// NewHTTPS returns a sender to rawURL (https only: events carry PHI).
func NewHTTPS(rawURL, format, token, hostname string, client *http.Client) (*HTTPS, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("stream: HTTPS destination %q is not an https URL", rawURL)
	}
	switch format {
	case FormatNDJSON:
	case FormatHEC:
		if token == "" {
			return nil, fmt.Errorf("stream: a Splunk HEC destination needs a token")
		}
	default:
		return nil, fmt.Errorf("stream: format %q is not %s or %s", format, FormatNDJSON, FormatHEC)
	}
	return &HTTPS{url: rawURL, format: format, token: token, hostname: hostname, client: client}, nil
}

func (h *HTTPS) Name() string { return "https:" + h.url }

// Send implements Sender.
func (h *HTTPS) Send(ctx context.Context, events []vigil.Event) error {
	var body []byte
	for i, e := range events {
		n := len(body)
		var err error
		if body, err = h.appendLine(body, e); err != nil {
			return err
		}
		if len(body) > maxBody && i > 0 {
			if err := h.post(ctx, body[:n]); err != nil {
				return err
			}
			body = append(body[:0], body[n:]...)
		}
	}
	return h.post(ctx, body)
}

func (h *HTTPS) appendLine(dst []byte, e vigil.Event) ([]byte, error) {
	ae, err := auditEventJSON(e)
	if err != nil {
		return dst, err
	}
	ws, _ := json.Marshal(e.Workspace)
	id, _ := json.Marshal(e.ID)
	switch h.format {
	case FormatHEC:
		host, _ := json.Marshal(h.hostname)
		t := strconv.FormatFloat(float64(e.CreatedAt.UnixMicro())/1e6, 'f', 6, 64)
		dst = fmt.Appendf(dst, `{"time":%s,"host":%s,"source":"vigil","sourcetype":"fhir:auditevent","fields":{"workspace":%s,"sequence":"%d","event_id":%s},"event":`,
			t, host, ws, e.Sequence, id)
	default:
		dst = fmt.Appendf(dst, `{"id":%s,"workspace":%s,"sequence":%d,"created_at":"%s","audit_event":`,
			id, ws, e.Sequence, e.CreatedAt.UTC().Format("2006-01-02T15:04:05.000000000Z"))
	}
	dst = append(dst, ae...)
	return append(dst, '}', '\n'), nil
}

func (h *HTTPS) post(ctx context.Context, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	switch h.format {
	case FormatHEC:
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Splunk "+h.token)
	default:
		req.Header.Set("Content-Type", "application/x-ndjson")
		if h.token != "" {
			req.Header.Set("Authorization", "Bearer "+h.token)
		}
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	return nil
}

// Close implements Sender.
func (h *HTTPS) Close() error {
	h.client.CloseIdleConnections()
	return nil
}
