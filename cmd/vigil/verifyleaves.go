package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	nethttp "net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	"github.com/vigilhq/vigil/ledger"
)

// Which leaves vigil verify --url re-hashes when --leaves is not given:
// all of a log of up to autoAllLeaves events, else autoSamples of them at
// random.
const (
	autoAllLeaves = 100_000
	autoSamples   = 1000
)

// leafPlan is what --leaves asks for: all, none, the range [from, to), or
// samples leaves at random.
type leafPlan struct {
	mode     string // "auto", "all", "none", "range", "sample"
	from, to int64
	samples  int
}

const leavesUsage = "which events to re-hash against the checkpoint: all, none, FROM-TO (sequences FROM to TO-1), or sample:N (N at random); default all up to 100000 events, else sample:1000"

func parseLeafPlan(s string) (leafPlan, error) {
	switch {
	case s == "" || s == "auto":
		return leafPlan{mode: "auto"}, nil
	case s == "all" || s == "none":
		return leafPlan{mode: s}, nil
	case strings.HasPrefix(s, "sample:"):
		n, err := strconv.Atoi(strings.TrimPrefix(s, "sample:"))
		if err != nil || n < 1 {
			return leafPlan{}, fmt.Errorf("--leaves %s: sample:N needs a whole number N of at least 1", s)
		}
		return leafPlan{mode: "sample", samples: n}, nil
	}
	a, b, ok := strings.Cut(s, "-")
	from, ferr := strconv.ParseInt(a, 10, 64)
	to, terr := strconv.ParseInt(b, 10, 64)
	if !ok || ferr != nil || terr != nil || from < 0 || to <= from {
		return leafPlan{}, fmt.Errorf("--leaves %s: give all, none, FROM-TO with FROM < TO, or sample:N", s)
	}
	return leafPlan{mode: "range", from: from, to: to}, nil
}

// leafCheck re-hashes the events a server serves against a checkpoint it
// signed and the verifier trusts.
type leafCheck struct {
	ctx       context.Context
	c         *nethttp.Client
	base, key string
	cp        vigil.Checkpoint
	workspace string

	breaks  []vigil.Break
	omitted int64
	checked int64
	// The last event of the previous page of a contiguous walk: created_at
	// must go on increasing across pages.
	last        *vigil.Event
	serverState string // the server's Vigil-Integrity, when not ok
}

func (l *leafCheck) add(bs ...vigil.Break) {
	for _, b := range bs {
		if len(l.breaks) >= 1000 {
			l.omitted++
			continue
		}
		l.breaks = append(l.breaks, b)
	}
}

// run checks the plan and describes what it checked.
func (l *leafCheck) run(plan leafPlan) (string, error) {
	n := l.cp.Size
	if plan.mode == "auto" {
		plan.mode = "all"
		if n > autoAllLeaves {
			plan = leafPlan{mode: "sample", samples: autoSamples}
		}
	}
	switch plan.mode {
	case "none":
		return "leaves: none re-hashed (--leaves none): only the tree was checked", nil
	case "all":
		plan.from, plan.to = 0, n
	case "range":
		if plan.to > n {
			return "", fmt.Errorf("--leaves %d-%d: the checkpoint covers only %d events", plan.from, plan.to, n)
		}
	case "sample":
		if int64(plan.samples) >= n {
			plan.from, plan.to = 0, n
			plan.mode = "all"
		}
	}
	if n == 0 {
		return "leaves: the log is empty", nil
	}
	if plan.mode != "sample" {
		for a := plan.from; a < plan.to; a += vigil.MaxLeavesPerRead {
			if err := l.page(a, min(a+vigil.MaxLeavesPerRead, plan.to), true); err != nil {
				return "", err
			}
		}
		if plan.mode == "all" {
			return fmt.Sprintf("leaves: all %d events re-hashed against the checkpoint of %d", l.checked, n), nil
		}
		return fmt.Sprintf("leaves: the events [%d, %d) re-hashed against the checkpoint of %d", plan.from, plan.to, n), nil
	}
	for _, s := range sample(n, plan.samples) {
		if err := l.page(s, s+1, false); err != nil {
			return "", err
		}
	}
	k := float64(plan.samples)
	return fmt.Sprintf("leaves: %d of %d events, chosen at random, re-hashed against the checkpoint: if a fraction f of the events were altered, "+
		"every sample misses them with probability (1-f)^%d: %.2g for 1%%, %.2g for 0.1%%", plan.samples, n, plan.samples,
		math.Pow(0.99, k), math.Pow(0.999, k)), nil
}

// sample returns k distinct sequences of [0, n) chosen uniformly at
// random (k < n), in increasing order, from a generator the server cannot
// predict.
func sample(n int64, k int) []int64 {
	var seed [32]byte
	crand.Read(seed[:])
	r := rand.New(rand.NewChaCha8(seed))
	picked := make(map[int64]bool, k)
	for len(picked) < k {
		picked[r.Int64N(n)] = true
	}
	out := make([]int64, 0, k)
	for s := range picked {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// noteState keeps what the server says of its own verification.
func (l *leafCheck) noteState(h nethttp.Header) {
	if v := h.Get("Vigil-Integrity"); strings.HasPrefix(v, "broken") {
		l.serverState = v
	}
}

// page fetches the events [from, to) at the pinned tree size and checks
// them: each re-derived leaf against the leaf hash the server shows for it
// (which says where a change lies), and all of them with the subtrees
// against the signed root (which is the proof).
func (l *leafCheck) page(from, to int64, contiguous bool) error {
	q := url.Values{"tree_size": {strconv.FormatInt(l.cp.Size, 10)}, "from": {strconv.FormatInt(from, 10)}, "to": {strconv.FormatInt(to, 10)}}
	body, header, err := fetch(l.ctx, l.c, l.base, "/api/v1/ledger/leaves", q, l.key, 64<<20)
	if err != nil {
		return err
	}
	l.noteState(header)
	var resp api.Data[api.Leaves]
	if err := json.Unmarshal(body, &resp); err != nil {
		return fmt.Errorf("the server's leaves [%d, %d): %w", from, to, err)
	}
	got := resp.Data
	if got.TreeSize != l.cp.Size || got.From != from || got.To != to {
		return fmt.Errorf("asked for the leaves [%d, %d) of the tree of %d, the server answered [%d, %d) of %d", from, to, l.cp.Size, got.From, got.To, got.TreeSize)
	}
	leaves := make([][]byte, len(got.Events))
	for i, w := range got.Events {
		e, err := eventFromWire(w, l.workspace)
		if err != nil {
			l.add(vigil.Break{Type: vigil.BreakModified, EventID: w.ID, Sequence: w.Sequence, Detail: "the event served has no leaf: " + err.Error()})
			leaves[i] = []byte("{}") // it takes its place, and fails there
			continue
		}
		leaves[i] = ledger.AppendEvent(nil, &e)
		derived := ledger.LeafHash(leaves[i])
		if w.Integrity != nil && w.Integrity.EventHash != derived.String() {
			l.add(vigil.Break{Type: vigil.BreakModified, EventID: w.ID, Sequence: w.Sequence, ExpectedHash: w.Integrity.EventHash, ActualHash: derived.String(),
				Detail: "the event served does not hash to the leaf the server keeps for it: it was changed after it was recorded"})
		}
		if contiguous && i == 0 && l.last != nil && !e.CreatedAt.After(l.last.CreatedAt) {
			l.add(vigil.Break{Type: vigil.BreakReordered, EventID: e.ID, Sequence: e.Sequence, Detail: "created_at is not after the previous event's"})
		}
		if contiguous && i == len(got.Events)-1 {
			l.last = &e
		}
	}
	subs := make([]vigil.SubtreeHash, len(got.Subtrees))
	for i, s := range got.Subtrees {
		h, err := ledger.ParseHash(s.Hash)
		if err != nil {
			return fmt.Errorf("the server's leaves [%d, %d): subtree %d: %w", from, to, i, err)
		}
		subs[i] = vigil.SubtreeHash{Level: s.Level, Index: s.Index, Hash: h}
	}
	rep, err := ledger.CheckRange(l.cp, from, to, subs, leaves)
	if err != nil {
		return err
	}
	l.add(rep.Breaks...)
	l.omitted += rep.BreaksOmitted
	l.checked += rep.EventsChecked
	return nil
}

// eventFromWire is the stored event a read shape shows (the server's
// toAPIEvent, inverted for what the ledger hashes): absent and empty are
// one thing, metadata is brought back to its canonical form, and times
// keep their nanoseconds.
func eventFromWire(w api.Event, workspace string) (vigil.Event, error) {
	s := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	e := vigil.Event{
		ID: w.ID, Workspace: workspace, Sequence: w.Sequence,
		ActorID: w.ActorID, ActorName: s(w.ActorName), ActorType: s(w.ActorType),
		Action: w.Action, ActionCategory: s(w.ActionCategory),
		TenantID: s(w.TenantID), SessionID: s(w.SessionID),
		IPAddress: s(w.IPAddress), IPCountry: s(w.IPCountry), IPCity: s(w.IPCity), IPRegion: s(w.IPRegion),
		UserAgent: s(w.UserAgent), IdempotencyKey: s(w.IdempotencyKey), Version: s(w.Version),
		Outcome: vigil.Outcome(w.Outcome), PatientID: s(w.PatientID), PurposeOfUse: s(w.PurposeOfUse), Source: s(w.Source),
	}
	if w.Resource != nil {
		e.Resource, e.ResourceID, e.ResourceName = s(w.Resource.Type), s(w.Resource.ID), s(w.Resource.Name)
	}
	if w.Seal != nil {
		// A sealed event's leaf holds its commitments, in field order.
		e.Seal = &vigil.Seal{KeyID: w.Seal.KeyID}
		for _, f := range ledger.SealedFields {
			c, ok := w.Seal.Commitments[f]
			if !ok {
				continue
			}
			var h vigil.Hash
			if b, err := hex.DecodeString(c); err != nil || len(b) != len(h) {
				return e, fmt.Errorf("seal.commitments.%s: not a SHA-256 hash in hex", f)
			} else {
				copy(h[:], b)
			}
			e.Seal.Commitments = append(e.Seal.Commitments, vigil.Commitment{Field: f, Hash: h})
		}
		if len(e.Seal.Commitments) != len(w.Seal.Commitments) {
			return e, fmt.Errorf("seal.commitments: a member is not a sealed field")
		}
	}
	var err error
	if e.Metadata, err = canonicalMetadata(w.Metadata); err != nil {
		return e, fmt.Errorf("metadata: %w", err)
	}
	for i, t := range w.Targets {
		m, err := canonicalMetadata(t.Metadata)
		if err != nil {
			return e, fmt.Errorf("targets[%d].metadata: %w", i, err)
		}
		e.Targets = append(e.Targets, vigil.Target{Type: t.Type, ID: t.ID, Name: t.Name, Metadata: m})
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
		text string
	}{{"occurred_at", &e.OccurredAt, w.OccurredAt}, {"created_at", &e.CreatedAt, w.CreatedAt}} {
		if *f.dst, err = time.Parse(time.RFC3339Nano, f.text); err != nil {
			return e, fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return e, nil
}

// canonicalMetadata is metadata as the store keeps it: canonical JSON, and
// none for an empty object.
func canonicalMetadata(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	c, err := ledger.Canonicalize(raw)
	if err != nil {
		return nil, err
	}
	if string(c) == "{}" {
		return nil, nil
	}
	if c[0] != '{' {
		return nil, errors.New("is not an object")
	}
	return c, nil
}
