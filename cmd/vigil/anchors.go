package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/vigilhq/vigil/anchor"
)

// listFlag is a flag that may be given many times; one value (from the
// environment) may also hold several separated by spaces.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, strings.Fields(v)...)
	return nil
}

// anchorFlags configure anchoring in vigil serve.
type anchorFlags struct {
	interval  time.Duration
	tsas      listFlag
	tsaCA     string
	witnesses listFlag
}

func registerAnchorFlags(fs *flag.FlagSet) *anchorFlags {
	a := &anchorFlags{}
	fs.DurationVar(&a.interval, "anchor-interval", time.Hour, "how often each workspace's latest checkpoint is sent to the witnesses")
	fs.Var(&a.tsas, "anchor-tsa", "RFC 3161 time-stamp authority URL to anchor checkpoints with (repeatable)")
	fs.StringVar(&a.tsaCA, "anchor-tsa-ca", "", "PEM file of the CAs the time-stamp authorities' certificates must chain to")
	fs.Var(&a.witnesses, "anchor-witness", "C2SP tlog-witness to anchor checkpoints with, as URL,VKEY (repeatable)")
	return a
}

// readCAs reads a PEM file of CA certificates; "" is none.
func readCAs(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// witnessKey is the verifier key of a --anchor-witness value: URL,VKEY or
// VKEY alone.
func witnessKey(v string) (url, vkey string) {
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		return v[:i], v[i+1:]
	}
	return "", v
}

// anchorer builds the server's anchoring: the witnesses and the verifier
// of their evidence.
func (a *anchorFlags) anchorer(d *dataDir, logger *slog.Logger) (*anchor.Anchorer, error) {
	if a.interval <= 0 {
		return nil, errors.New("--anchor-interval must be positive")
	}
	roots, err := readCAs(a.tsaCA)
	if err != nil {
		return nil, fmt.Errorf("--anchor-tsa-ca: %w", err)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var ws []anchor.Witness
	var vkeys []string
	for _, u := range a.tsas {
		t, err := anchor.NewTSA(u, client, roots)
		if err != nil {
			return nil, fmt.Errorf("--anchor-tsa: %w", err)
		}
		ws = append(ws, t)
	}
	for _, v := range a.witnesses {
		u, vkey := witnessKey(v)
		c, err := anchor.NewCosigner(u, vkey, client)
		if err != nil {
			return nil, fmt.Errorf("--anchor-witness %s: %w", v, err)
		}
		ws = append(ws, c)
		vkeys = append(vkeys, vkey)
	}
	verifier, err := anchor.NewVerifier(roots, vkeys...)
	if err != nil {
		return nil, err
	}
	if len(ws) > 0 && roots == nil && len(a.tsas) > 0 {
		logger.Warn("no --anchor-tsa-ca: time-stamp tokens are checked against the certificate they carry, not against a trusted CA")
	}
	return anchor.New(anchor.Config{Log: d.db, Store: d.db, Witnesses: ws, Verifier: verifier, Logger: logger}), nil
}

// runAnchors anchors at the interval until ctx ends; the first pass comes
// soon after the start, once the first checkpoints are signed.
func runAnchors(ctx context.Context, an *anchor.Anchorer, interval time.Duration) {
	an.Run(ctx, interval, min(interval, 10*time.Second))
}
