package http

import (
	"net/http"
	"strconv"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
)

func (s *Server) checkpoint(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	size := int64(-1)
	if err := onlyParams(r, "size"); err != nil {
		return err
	}
	if v := r.URL.Query().Get("size"); v != "" {
		n, err := parseCount("size", v, 0)
		if err != nil {
			return err
		}
		size = n
	}
	cp, err := s.store.Checkpoint(r.Context(), k.Workspace, size)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(cp.Note)
	return nil
}

func (s *Server) ledgerKey(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	if s.cfg.VerifierKey == "" {
		return vigil.Errorf(vigil.ENOTFOUND, "this server signs no checkpoints")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(s.cfg.VerifierKey + "\n"))
	return nil
}

func (s *Server) eventProof(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	id := r.PathValue("id")
	if !validID(id) {
		return vigil.Errorf(vigil.ENOTFOUND, "event not found")
	}
	if err := onlyParams(r, "tree_size"); err != nil {
		return err
	}
	var treeSize int64
	if v := r.URL.Query().Get("tree_size"); v != "" {
		n, err := parseCount("tree_size", v, 1)
		if err != nil {
			return err
		}
		treeSize = n
	}
	var p vigil.InclusionProof
	err := s.audited(r, k, ActionEventsProof, map[string]string{"event_id": id}, func() error {
		e, err := s.store.Event(r.Context(), k.Workspace, k.TenantID, id)
		if err != nil {
			return err
		}
		p, err = s.store.InclusionProof(r.Context(), k.Workspace, e.Sequence, treeSize)
		return err
	})
	if err != nil {
		return err
	}
	out := api.Proof{LeafIndex: p.LeafIndex, TreeSize: p.TreeSize, LeafHash: p.LeafHash.String(), Hashes: hexes(p.Hashes)}
	writeJSON(w, http.StatusOK, api.Data[api.Proof]{Data: out})
	return nil
}

func (s *Server) consistency(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r, "first", "second"); err != nil {
		return err
	}
	q := r.URL.Query()
	first, err := parseCount("first", q.Get("first"), 1)
	if err != nil {
		return err
	}
	second, err := parseCount("second", q.Get("second"), 1)
	if err != nil {
		return err
	}
	hashes, err := s.store.ConsistencyProof(r.Context(), k.Workspace, first, second)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.Consistency]{Data: api.Consistency{First: first, Second: second, Hashes: hexes(hashes)}})
	return nil
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if k.TenantID != "" {
		// Verification reads every event of the workspace; a key confined
		// to one tenant may not run it.
		return vigil.Errorf(vigil.EFORBIDDEN, "verification covers the whole workspace; use a key without a tenant restriction")
	}
	if err := onlyParams(r, "from", "to", "limit"); err != nil {
		return err
	}
	var opt vigil.VerifyOptions
	q := r.URL.Query()
	var err error
	if v := q.Get("from"); v != "" {
		if opt.From, err = parseCount("from", v, 0); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if opt.To, err = parseCount("to", v, 1); err != nil {
			return err
		}
		if opt.To <= opt.From {
			return vigil.Invalid(vigil.ErrorDetail{Field: "to", Message: "must be greater than from"})
		}
	}
	if v := q.Get("limit"); v != "" {
		if opt.Limit, err = parseCount("limit", v, 1); err != nil {
			return err
		}
	}
	var rep vigil.VerifyReport
	err = s.audited(r, k, ActionLedgerVerify, joinQuery(q), func() error {
		var err error
		rep, err = s.store.Verify(r.Context(), k.Workspace, opt)
		return err
	})
	if err != nil {
		return err
	}
	out := api.Verification{Valid: rep.Valid, EventsChecked: rep.EventsChecked, TreeSize: rep.TreeSize, Breaks: []api.Break{}}
	for _, b := range rep.Breaks {
		ab := api.Break{Type: b.Type, EventID: str(b.EventID), ExpectedHash: str(b.ExpectedHash), ActualHash: str(b.ActualHash), Detail: b.Detail}
		if b.Sequence >= 0 {
			seq := b.Sequence
			ab.Sequence = &seq
		}
		out.Breaks = append(out.Breaks, ab)
	}
	writeJSON(w, http.StatusOK, api.Data[api.Verification]{Data: out})
	return nil
}

// leaves serves a stretch of the log with what proves it, for a verifier
// that re-hashes the events it is served. Each request is a read of the
// trail and is recorded; the verifier pins a tree size first, so its own
// records (which come after it) are not what it checks.
func (s *Server) leaves(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if k.TenantID != "" {
		// A tree's leaves are every tenant's events.
		return vigil.Errorf(vigil.EFORBIDDEN, "the ledger's leaves are the whole workspace's events; use a key without a tenant restriction")
	}
	if err := onlyParams(r, "from", "to", "tree_size"); err != nil {
		return err
	}
	q := r.URL.Query()
	var from, to, treeSize int64
	var err error
	if v := q.Get("from"); v != "" {
		if from, err = parseCount("from", v, 0); err != nil {
			return err
		}
	}
	if v := q.Get("to"); v != "" {
		if to, err = parseCount("to", v, 1); err != nil {
			return err
		}
		if to <= from {
			return vigil.Invalid(vigil.ErrorDetail{Field: "to", Message: "must be greater than from"})
		}
	}
	if v := q.Get("tree_size"); v != "" {
		if treeSize, err = parseCount("tree_size", v, 1); err != nil {
			return err
		}
	}
	var lr vigil.LeafRange
	err = s.audited(r, k, ActionLedgerLeaves, joinQuery(q), func() error {
		var err error
		lr, err = s.store.Leaves(r.Context(), k.Workspace, from, to, treeSize)
		return err
	})
	if err != nil {
		return err
	}
	out := api.Leaves{TreeSize: lr.TreeSize, From: lr.From, To: lr.To, Events: make([]api.Event, len(lr.Events)), Subtrees: make([]api.Subtree, len(lr.Subtrees))}
	for i, e := range lr.Events {
		out.Events[i] = toAPIEvent(e, &lr.Integrity[i])
	}
	for i, st := range lr.Subtrees {
		out.Subtrees[i] = api.Subtree{Level: st.Level, Index: st.Index, Hash: st.Hash.String()}
	}
	writeJSON(w, http.StatusOK, api.Data[api.Leaves]{Data: out})
	return nil
}

func hexes(hs []vigil.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

// parseCount reads a non-negative integer parameter of at least min.
func parseCount(name, v string, min int64) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return 0, vigil.Invalid(vigil.ErrorDetail{Field: name, Message: "must be an integer of at least " + strconv.FormatInt(min, 10)})
	}
	return n, nil
}

// onlyParams refuses query parameters a route does not take.
func onlyParams(r *http.Request, allowed ...string) error {
	if r.URL.RawQuery == "" {
		return nil // the common case, on every ingest request
	}
	var details []vigil.ErrorDetail
	for name, vs := range r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || a == name
		}
		switch {
		case !ok:
			details = append(details, vigil.ErrorDetail{Field: name, Message: "unknown query parameter"})
		case len(vs) > 1:
			details = append(details, vigil.ErrorDetail{Field: name, Message: "must be given once"})
		}
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	return nil
}
