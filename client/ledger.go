package client

import (
	"context"
	"net/url"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil/api"
)

// The ledger's answers are the wire types themselves: plain values with
// nothing to make friendlier.
type (
	Verification = api.Verification // a server-side verification's findings
	Proof        = api.Proof        // an event's inclusion proof
	Consistency  = api.Consistency  // a consistency proof between two tree sizes
)

// VerifyOptions bound a server-side verification to the sequences
// [From, To) and at most Limit events; zero fields do not bound it.
type VerifyOptions struct {
	From, To, Limit int64
}

// Verify asks the server to re-verify its stored events against the
// ledger (Immutable's /verify). It trusts the server; for a verification
// that does not, fetch checkpoints and proofs (or an export bundle) and
// check them with package ledger or `vigil verify`. Needs an auditor key
// without a tenant restriction.
func (c *Client) Verify(ctx context.Context, o VerifyOptions) (Verification, error) {
	v := url.Values{}
	for k, n := range map[string]int64{"from": o.From, "to": o.To, "limit": o.Limit} {
		if n > 0 {
			v.Set(k, strconv.FormatInt(n, 10))
		}
	}
	var d api.Data[api.Verification]
	err := c.do(ctx, "GET", "/api/v1/verify", v, nil, &d)
	return d.Data, err
}

// Proof returns the inclusion proof of event id in the tree of treeSize
// leaves (0: the latest checkpoint's tree).
func (c *Client) Proof(ctx context.Context, id string, treeSize int64) (Proof, error) {
	v := url.Values{}
	if treeSize > 0 {
		v.Set("tree_size", strconv.FormatInt(treeSize, 10))
	}
	var d api.Data[api.Proof]
	err := c.do(ctx, "GET", "/api/v1/events/"+url.PathEscape(id)+"/proof", v, nil, &d)
	return d.Data, err
}

// Checkpoint returns the latest signed checkpoint: a C2SP signed note,
// as bytes to verify with the server's verifier key (VerifierKey).
func (c *Client) Checkpoint(ctx context.Context) ([]byte, error) {
	return c.checkpoint(ctx, url.Values{})
}

// CheckpointAt returns the signed checkpoint the server kept for a tree
// of size leaves.
func (c *Client) CheckpointAt(ctx context.Context, size int64) ([]byte, error) {
	return c.checkpoint(ctx, url.Values{"size": {strconv.FormatInt(size, 10)}})
}

func (c *Client) checkpoint(ctx context.Context, v url.Values) ([]byte, error) {
	var note []byte
	err := c.do(ctx, "GET", "/api/v1/ledger/checkpoint", v, nil, &note)
	return note, err
}

// Consistency returns the proof that the tree of second leaves extends
// the tree of first leaves: nothing recorded was changed or removed.
func (c *Client) Consistency(ctx context.Context, first, second int64) (Consistency, error) {
	v := url.Values{"first": {strconv.FormatInt(first, 10)}, "second": {strconv.FormatInt(second, 10)}}
	var d api.Data[api.Consistency]
	err := c.do(ctx, "GET", "/api/v1/ledger/consistency", v, nil, &d)
	return d.Data, err
}

// VerifierKey returns the server's checkpoint verifier key (a note
// verifier key, "name+hash+key"). Pin it out of band: a key fetched from
// the server you are checking proves nothing about that server.
func (c *Client) VerifierKey(ctx context.Context) (string, error) {
	var b []byte
	err := c.do(ctx, "GET", "/api/v1/ledger/key", nil, nil, &b)
	return strings.TrimSpace(string(b)), err
}
