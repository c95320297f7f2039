package anchor

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

// Witness is one external witness of checkpoints.
type Witness interface {
	// Chain names it in anchors: "rfc3161:<url>" or "witness:<name>".
	Chain() string
	// Kind is the kind of evidence it gives (vigil.AnchorRFC3161,
	// vigil.AnchorCosignature).
	Kind() string
	// Witness sends a checkpoint and returns the evidence, verified. A
	// *RefusedError means the witness answered and said no; any other
	// error is worth trying again.
	Witness(ctx context.Context, req Request) (Evidence, error)
}

// Request is one checkpoint to witness.
type Request struct {
	Checkpoint vigil.Checkpoint // the signed note and what it says
	Body       []byte           // the checkpoint body (no signature)
	// OldSize is the size this witness last witnessed of the log (0 if
	// none); Prove returns a consistency proof from a smaller size to the
	// checkpoint's.
	OldSize int64
	Prove   func(ctx context.Context, from int64) ([]vigil.Hash, error)
}

// Evidence is what a witness gave.
type Evidence struct {
	Bytes   []byte // the DER token, or the cosignature line
	Time    time.Time
	Key     string // the verifier key a cosignature was checked with
	Trusted bool
}

// RefusedError is a witness's definite no: trying the same request again
// gets the same answer.
type RefusedError struct {
	Status int // the HTTP status, when it came with one
	Msg    string
}

func (e *RefusedError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("refused (HTTP %d): %s", e.Status, e.Msg)
	}
	return "refused: " + e.Msg
}

// answerError turns an HTTP error answer into an error: 5xx, 408 and 429
// are worth another try, any other status is a refusal.
func answerError(status int, body []byte) error {
	msg := strings.TrimSpace(string(body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if status >= 500 || status == http.StatusTooManyRequests || status == http.StatusRequestTimeout {
		return fmt.Errorf("HTTP %d: %s", status, msg)
	}
	return &RefusedError{Status: status, Msg: msg}
}

// Cosigner is a C2SP tlog-witness: it checks that each checkpoint extends
// the last it cosigned of the log (with a consistency proof) and answers a
// cosignature/v1 of it.
type Cosigner struct {
	URL    string // the submission prefix; requests go to URL + "/add-checkpoint"
	Key    CosignerKey
	Client *http.Client
}

// NewCosigner returns the witness at rawURL with verifier key vkey.
func NewCosigner(rawURL, vkey string, client *http.Client) (*Cosigner, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("anchor: witness URL %q is not an http(s) URL", rawURL)
	}
	k, err := ParseCosignerKey(vkey)
	if err != nil {
		return nil, err
	}
	return &Cosigner{URL: strings.TrimSuffix(rawURL, "/"), Key: k, Client: client}, nil
}

func (c *Cosigner) Chain() string { return "witness:" + c.Key.Name }
func (c *Cosigner) Kind() string  { return vigil.AnchorCosignature }

// Witness submits the checkpoint with a proof from req.OldSize. When the
// witness knows another size of the log (409 text/x.tlog.size), the
// request is made once more from that size, if it is not beyond this
// checkpoint: a witness that saw more of the log than the log now has
// is evidence of a rollback, and is refused.
func (c *Cosigner) Witness(ctx context.Context, req Request) (Evidence, error) {
	old := req.OldSize
	for try := 0; ; try++ {
		ev, known, err := c.add(ctx, req, old)
		if known < 0 || try == 1 {
			return ev, err
		}
		if known > req.Checkpoint.Size {
			return Evidence{}, &RefusedError{Status: http.StatusConflict, Msg: fmt.Sprintf(
				"the witness has cosigned %d events of this log; it now has %d: the log was rolled back", known, req.Checkpoint.Size)}
		}
		old = known
	}
}

// add makes one add-checkpoint request. known is the size the witness
// answered with a conflict, or -1.
func (c *Cosigner) add(ctx context.Context, req Request, old int64) (ev Evidence, known int64, err error) {
	known = -1
	body := fmt.Appendf(nil, "old %d\n", old)
	if old > 0 && old < req.Checkpoint.Size {
		proof, err := req.Prove(ctx, old)
		if err != nil {
			return ev, known, fmt.Errorf("proving consistency from %d: %w", old, err)
		}
		for _, h := range proof {
			body = base64.StdEncoding.AppendEncode(body, h[:])
			body = append(body, '\n')
		}
	}
	body = append(append(body, '\n'), req.Checkpoint.Note...)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return ev, known, err
	}
	resp, err := c.Client.Do(hr)
	if err != nil {
		return ev, known, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return ev, known, err
	}
	switch {
	case resp.StatusCode == http.StatusConflict && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/x.tlog.size"):
		n, perr := strconv.ParseInt(strings.TrimSuffix(string(answer), "\n"), 10, 64)
		if perr != nil || n < 0 {
			return ev, known, &RefusedError{Status: resp.StatusCode, Msg: "a conflict without a tree size"}
		}
		return ev, n, &RefusedError{Status: resp.StatusCode, Msg: fmt.Sprintf("the witness has cosigned %d events of this log, not %d", n, old)}
	case resp.StatusCode == http.StatusConflict:
		return ev, known, &RefusedError{Status: resp.StatusCode, Msg: "the witness cosigned another root for this size: the log forked"}
	case resp.StatusCode == http.StatusUnprocessableEntity:
		return ev, known, &RefusedError{Status: resp.StatusCode, Msg: "the witness found the log inconsistent with what it cosigned before"}
	case resp.StatusCode != http.StatusOK:
		return ev, known, answerError(resp.StatusCode, answer)
	}
	line, ok := cosignatureLine(c.Key, answer)
	if !ok {
		return ev, known, &RefusedError{Status: resp.StatusCode, Msg: "the answer holds no cosignature by " + c.Key.Name}
	}
	t, err := CheckCosignature(c.Key, req.Body, line)
	if err != nil {
		return ev, known, &RefusedError{Status: resp.StatusCode, Msg: err.Error()}
	}
	return Evidence{Bytes: line, Time: t, Key: c.Key.VKey, Trusted: true}, known, nil
}

var errNoWitness = errors.New("anchoring is not configured: start the server with --anchor-tsa or --anchor-witness")
