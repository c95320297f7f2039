package main

import (
	"context"
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

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/internal/private"
	"github.com/vigilhq/vigil/ledger"
)

// verifyURL checks a running server against the trusted key: its current
// checkpoint is signed, and, given a checkpoint saved earlier, is not
// smaller and is linked to it by a consistency proof (a log rewritten or
// forked since fails). Then it re-hashes the events the server serves
// (plan) against that checkpoint, so a log whose rows were edited,
// swapped or hidden fails too. The checkpoint is pinned first: the
// server records each of these reads as an event, after it.
func verifyURL(ctx context.Context, env *Env, base, savedPath, vkey, apiKey string, save bool, plan leafPlan) error {
	var old *vigil.Checkpoint
	switch saved, err := os.ReadFile(savedPath); {
	case savedPath == "":
		fmt.Fprintln(env.Stderr, "warning: no --checkpoint: nothing shows this log extends what it held before (a rollback or a rewritten history shows only against a checkpoint saved earlier); keep one with --checkpoint FILE --save")
	case errors.Is(err, os.ErrNotExist) && save:
		fmt.Fprintf(env.Stderr, "warning: %s does not exist yet: it will hold this checkpoint if the log verifies\n", savedPath)
	case err != nil:
		return err
	default:
		cp, err := ledger.Open(saved, vkey)
		if err != nil {
			return fmt.Errorf("the saved checkpoint %s: %w", savedPath, err)
		}
		old = &cp
	}
	c := &nethttp.Client{Timeout: 30 * time.Second}
	note, header, err := fetch(ctx, c, base, "/api/v1/ledger/checkpoint", nil, apiKey, 1<<20)
	if err != nil {
		return err
	}
	cur, err := ledger.Open(note, vkey)
	if err != nil {
		return fmt.Errorf("the server's checkpoint: %w", err)
	}
	if old != nil {
		if err := checkExtends(ctx, env, c, base, apiKey, *old, cur); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(env.Stdout, "current checkpoint: size %d root %s\n", cur.Size, cur.Root)
	}
	lc := &leafCheck{ctx: ctx, c: c, base: base, key: apiKey, cp: cur, workspace: cur.Origin[strings.LastIndex(cur.Origin, "/")+1:]}
	lc.noteState(header)
	what, err := lc.run(plan)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, what)
	printBreaks(env.Stdout, lc.breaks, lc.omitted)
	if lc.serverState != "" {
		// Its findings are evidence too (of what only the server can see).
		fmt.Fprintf(env.Stdout, "the server's own verification found breaks (Vigil-Integrity: %s): GET /api/v1/verify lists them\n", lc.serverState)
	}
	if len(lc.breaks) > 0 || lc.omitted > 0 || lc.serverState != "" {
		fmt.Fprintf(env.Stdout, "FAIL: %d breaks\n", int64(len(lc.breaks))+lc.omitted)
		return exitCode(1)
	}
	if old != nil {
		fmt.Fprintf(env.Stdout, "OK: the log of %d events extends the saved checkpoint of %d events", cur.Size, old.Size)
	} else {
		fmt.Fprintf(env.Stdout, "OK: the checkpoint of %d events is signed by the trusted key", cur.Size)
	}
	if lc.checked > 0 {
		fmt.Fprintf(env.Stdout, "; the %d events re-hashed are its leaves", lc.checked)
	}
	fmt.Fprintln(env.Stdout)
	if save && savedPath != "" {
		return private.WriteFile(savedPath, func(w io.Writer) error { _, err := w.Write(note); return err })
	}
	return nil
}

// checkExtends checks that cur extends the saved checkpoint old.
func checkExtends(ctx context.Context, env *Env, c *nethttp.Client, base, apiKey string, old, cur vigil.Checkpoint) error {
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
		body, _, err := fetch(ctx, c, base, "/api/v1/ledger/consistency", url.Values{
			"first": {strconv.FormatInt(old.Size, 10)}, "second": {strconv.FormatInt(cur.Size, 10)}}, apiKey, 1<<20)
		if err != nil {
			return err
		}
		var resp api.Data[api.Consistency]
		if err := json.Unmarshal(body, &resp); err != nil {
			return fmt.Errorf("the server's consistency proof: %w", err)
		}
		proof, err := ledger.ParseHashes(resp.Data.Hashes)
		if err != nil {
			return fmt.Errorf("the server's consistency proof holds a malformed hash")
		}
		if err := ledger.CheckConsistency(proof, old.Size, old.Root, cur.Size, cur.Root); err != nil {
			fmt.Fprintf(env.Stdout, "FAIL inconsistent: the current log does not extend the saved checkpoint: %v\n", err)
			return exitCode(1)
		}
	}
	return nil
}

func fetch(ctx context.Context, c *nethttp.Client, base, path string, q url.Values, apiKey string, limit int64) ([]byte, nethttp.Header, error) {
	u := strings.TrimRight(base, "/") + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := nethttp.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("%s: the answer is larger than %d bytes", path, limit)
	}
	if resp.StatusCode != nethttp.StatusOK {
		var e api.Error
		if json.Unmarshal(body, &e) == nil && e.Message != "" {
			return nil, nil, fmt.Errorf("%s: %s (%s)", path, e.Message, e.Error)
		}
		return nil, nil, fmt.Errorf("%s: HTTP %d", path, resp.StatusCode)
	}
	return body, resp.Header, nil
}

var errNoKey = errors.New("a trusted verifier key is required: --key VKEY or VIGIL_KEY (print it with vigil ledger key)")
