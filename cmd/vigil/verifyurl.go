package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// verifyURL checks that a running server's log still extends a checkpoint
// saved earlier: the new checkpoint is signed by the trusted key, is not
// smaller, and a consistency proof links the two roots. A log rewritten
// or forked since the saved checkpoint fails.
func verifyURL(ctx context.Context, env *Env, base, savedPath, vkey, apiKey string, save bool) error {
	saved, err := os.ReadFile(savedPath)
	if err != nil {
		return err
	}
	old, err := ledger.Open(saved, vkey)
	if err != nil {
		return fmt.Errorf("the saved checkpoint %s: %w", savedPath, err)
	}
	c := &nethttp.Client{Timeout: 30 * time.Second}
	note, err := fetch(ctx, c, base, "/api/v1/ledger/checkpoint", nil, apiKey)
	if err != nil {
		return err
	}
	cur, err := ledger.Open(note, vkey)
	if err != nil {
		return fmt.Errorf("the server's checkpoint: %w", err)
	}
	if cur.Origin != old.Origin {
		return fmt.Errorf("the server's log is %q, the saved checkpoint is of %q", cur.Origin, old.Origin)
	}
	fmt.Fprintf(env.Stdout, "saved checkpoint:   size %d root %s\n", old.Size, old.Root)
	fmt.Fprintf(env.Stdout, "current checkpoint: size %d root %s\n", cur.Size, cur.Root)
	switch {
	case cur.Size < old.Size:
		fmt.Fprintf(env.Stdout, "FAIL rollback: the log shrank from %d to %d events\n", old.Size, cur.Size)
		return exitCode(1)
	case cur.Size == old.Size:
		if cur.Root != old.Root {
			fmt.Fprintln(env.Stdout, "FAIL inconsistent: same size, different root: the log was rewritten")
			return exitCode(1)
		}
	case old.Size == 0:
		// Every tree extends the empty one.
	default:
		body, err := fetch(ctx, c, base, "/api/v1/ledger/consistency", url.Values{
			"first": {strconv.FormatInt(old.Size, 10)}, "second": {strconv.FormatInt(cur.Size, 10)}}, apiKey)
		if err != nil {
			return err
		}
		var resp api.Data[api.Consistency]
		if err := json.Unmarshal(body, &resp); err != nil {
			return fmt.Errorf("the server's consistency proof: %w", err)
		}
		proof := make(tlog.TreeProof, len(resp.Data.Hashes))
		for i, h := range resp.Data.Hashes {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != len(proof[i]) {
				return fmt.Errorf("the server's consistency proof holds a malformed hash")
			}
			copy(proof[i][:], b)
		}
		if err := tlog.CheckTree(proof, cur.Size, ledger.TlogHash(cur.Root), old.Size, ledger.TlogHash(old.Root)); err != nil {
			fmt.Fprintf(env.Stdout, "FAIL inconsistent: the current log does not extend the saved checkpoint: %v\n", err)
			return exitCode(1)
		}
	}
	fmt.Fprintf(env.Stdout, "OK: the log of %d events extends the saved checkpoint of %d events\n", cur.Size, old.Size)
	if save {
		return private.WriteFile(savedPath, func(w io.Writer) error { _, err := w.Write(note); return err })
	}
	return nil
}

func fetch(ctx context.Context, c *nethttp.Client, base, path string, q url.Values, apiKey string) ([]byte, error) {
	u := strings.TrimRight(base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := nethttp.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != nethttp.StatusOK {
		var e api.Error
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s: %s (%s)", path, e.Message, e.Error)
		}
		return nil, fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	return body, nil
}

var errNoKey = errors.New("a trusted verifier key is required: --key VKEY or VIGIL_KEY (print it with vigil ledger key)")
