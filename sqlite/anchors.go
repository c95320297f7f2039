package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
	"golang.org/x/mod/sumdb/tlog"
)

// Anchors are bookkeeping beside the log, like checkpoints: written on the
// write connection, not through the event writer.

const anchorColumns = `a.id, a.chain, a.kind, a.checkpoint, a.tree_size, a.root, a.previous_id, a.previous_hash, a.from_seq,
	a.period_start, a.period_end, a.first_event_hash, a.last_event_hash, a.status, a.evidence, a.evidence_time,
	a.witness_key, a.attempts, a.next_try_at, a.last_error, a.created_at, a.updated_at`

func scanAnchor(s scanner, workspace string) (vigil.Anchor, error) {
	a := vigil.Anchor{Workspace: workspace}
	var checkpoint string
	var root, prevHash, firstHash, lastHash, evidence []byte
	var prevID, witnessKey, lastError sql.NullString
	var periodStart, periodEnd, evidenceTime, nextTry sql.NullInt64
	var created, updated int64
	err := s.Scan(&a.ID, &a.Chain, &a.Kind, &checkpoint, &a.TreeSize, &root, &prevID, &prevHash, &a.FromSequence,
		&periodStart, &periodEnd, &firstHash, &lastHash, &a.Status, &evidence, &evidenceTime,
		&witnessKey, &a.Attempts, &nextTry, &lastError, &created, &updated)
	if err != nil {
		return a, err
	}
	a.Checkpoint = []byte(checkpoint)
	copy(a.Root[:], root)
	a.PreviousID, a.WitnessKey, a.LastError = prevID.String, witnessKey.String, lastError.String
	a.PreviousHash, a.FirstEventHash, a.LastEventHash = hashPtr(prevHash), hashPtr(firstHash), hashPtr(lastHash)
	a.PeriodStart, a.PeriodEnd = nanoTime(periodStart), nanoTime(periodEnd)
	a.EvidenceTime, a.NextTry = nanoTime(evidenceTime), nanoTime(nextTry)
	if len(evidence) > 0 {
		a.Evidence = evidence
	}
	a.CreatedAt, a.UpdatedAt = time.Unix(0, created).UTC(), time.Unix(0, updated).UTC()
	return a, nil
}

func hashPtr(b []byte) *vigil.Hash {
	if len(b) != len(vigil.Hash{}) {
		return nil
	}
	var h vigil.Hash
	copy(h[:], b)
	return &h
}

func hashArg(h *vigil.Hash) any {
	if h == nil {
		return nil
	}
	return h[:]
}

func nanoTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func nanoArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func bytesArg(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// checkAnchorStatus refuses a status outside the vocabulary (empty is
// allowed for a new anchor: pending) as the caller's mistake, before the
// table's CHECK would turn it into a retryable storage failure.
func checkAnchorStatus(status string, creating bool) error {
	switch status {
	case vigil.AnchorPending, vigil.AnchorSubmitted, vigil.AnchorConfirmed, vigil.AnchorFailed:
		return nil
	case "":
		if creating {
			return nil
		}
	}
	return vigil.Invalid(vigil.ErrorDetail{Field: "status", Message: "must be pending, submitted, confirmed or failed"})
}

// CreateAnchor implements vigil.AnchorStore.
func (db *DB) CreateAnchor(ctx context.Context, a vigil.Anchor) (vigil.Anchor, error) {
	if a.Kind != vigil.AnchorRFC3161 && a.Kind != vigil.AnchorCosignature {
		return a, vigil.Invalid(vigil.ErrorDetail{Field: "kind", Message: "must be " + vigil.AnchorRFC3161 + " or " + vigil.AnchorCosignature})
	}
	if err := checkAnchorStatus(a.Status, true); err != nil {
		return a, err
	}
	ws, err := db.workspaceID(ctx, a.Workspace)
	if err != nil {
		return a, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return a, err
	}
	now := db.cfg.Now().UTC()
	a.ID, a.CreatedAt, a.UpdatedAt = id.String(), now, now
	if a.Status == "" {
		a.Status = vigil.AnchorPending
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO anchors (id, ws, chain, kind, checkpoint, tree_size, root, previous_id, previous_hash,
		from_seq, period_start, period_end, first_event_hash, last_event_hash, status, evidence, evidence_time, witness_key,
		attempts, next_try_at, last_error, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		a.ID, ws, a.Chain, a.Kind, string(a.Checkpoint), a.TreeSize, a.Root[:], null(a.PreviousID), hashArg(a.PreviousHash),
		a.FromSequence, nanoArg(a.PeriodStart), nanoArg(a.PeriodEnd), hashArg(a.FirstEventHash), hashArg(a.LastEventHash),
		a.Status, bytesArg(a.Evidence), nanoArg(a.EvidenceTime), null(a.WitnessKey), a.Attempts, nanoArg(a.NextTry),
		null(a.LastError), now.UnixNano(), now.UnixNano())
	if err != nil {
		return a, vigil.Unavailable("storing the anchor failed", err)
	}
	return a, nil
}

// UpdateAnchor implements vigil.AnchorStore. Only what an anchor's
// progress changes is written: the triggers refuse the rest.
func (db *DB) UpdateAnchor(ctx context.Context, a vigil.Anchor) (vigil.Anchor, error) {
	if err := checkAnchorStatus(a.Status, false); err != nil {
		return a, err
	}
	ws, err := db.workspaceID(ctx, a.Workspace)
	if err != nil {
		return a, err
	}
	now := db.cfg.Now().UTC()
	res, err := db.write.ExecContext(ctx, `UPDATE anchors SET status = ?, evidence = ?, evidence_time = ?, witness_key = ?,
		attempts = ?, next_try_at = ?, last_error = ?, updated_at = ? WHERE ws = ? AND id = ? AND status NOT IN ('confirmed', 'failed')`,
		a.Status, bytesArg(a.Evidence), nanoArg(a.EvidenceTime), null(a.WitnessKey), a.Attempts, nanoArg(a.NextTry),
		null(a.LastError), now.UnixNano(), ws, a.ID)
	if err != nil {
		return a, vigil.Unavailable("storing the anchor failed", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := db.Anchor(ctx, a.Workspace, a.ID); err != nil {
			return a, err
		}
		return a, vigil.Errorf(vigil.ECONFLICT, "anchor %s is settled", a.ID)
	}
	a.UpdatedAt = now
	return a, nil
}

// Anchor implements vigil.AnchorStore.
func (db *DB) Anchor(ctx context.Context, workspace, id string) (vigil.Anchor, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Anchor{}, err
	}
	a, err := scanAnchor(db.read.QueryRowContext(ctx, "SELECT "+anchorColumns+" FROM anchors a WHERE a.ws = ? AND a.id = ?", ws, id), workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return a, vigil.Errorf(vigil.ENOTFOUND, "anchor not found")
	} else if err != nil {
		return a, vigil.Unavailable("reading the anchor failed", err)
	}
	return a, nil
}

// Anchors implements vigil.AnchorStore.
func (db *DB) Anchors(ctx context.Context, q vigil.AnchorQuery) (vigil.AnchorPage, error) {
	var page vigil.AnchorPage
	ws, err := db.workspaceID(ctx, q.Workspace)
	if err != nil {
		return page, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = vigil.DefaultQueryLimit
	}
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM anchors WHERE ws = ?", ws).Scan(&page.Total); err != nil {
		return page, vigil.Unavailable("counting anchors failed", err)
	}
	where, args := "a.ws = ?", []any{ws}
	if q.Before != "" {
		// Ids are UUIDv7: their order is the order anchors were made in.
		where += " AND a.id < ?"
		args = append(args, q.Before)
	}
	scan := func(s scanner) (vigil.Anchor, error) { return scanAnchor(s, q.Workspace) }
	page.Anchors, page.HasMore, err = queryPage(ctx, db.read, "anchors", limit, scan,
		"SELECT "+anchorColumns+" FROM anchors a WHERE "+where+" ORDER BY a.id DESC LIMIT ?", args...)
	if err != nil {
		return page, err
	}
	if page.HasMore {
		page.Next = page.Anchors[limit-1].ID
	}
	return page, nil
}

// LatestAnchor implements vigil.AnchorStore.
func (db *DB) LatestAnchor(ctx context.Context, workspace, chain string, confirmed bool) (vigil.Anchor, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Anchor{}, err
	}
	where := "a.ws = ? AND a.chain = ?"
	if confirmed {
		where += " AND a.status = 'confirmed'"
	}
	a, err := scanAnchor(db.read.QueryRowContext(ctx, "SELECT "+anchorColumns+" FROM anchors a WHERE "+where+" ORDER BY a.id DESC LIMIT 1", ws, chain), workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return a, vigil.Errorf(vigil.ENOTFOUND, "no anchor of %s yet", chain)
	} else if err != nil {
		return a, vigil.Unavailable("reading anchors failed", err)
	}
	return a, nil
}

// AnchorsThrough implements vigil.AnchorStore.
func (db *DB) AnchorsThrough(ctx context.Context, workspace string, treeSize int64) ([]vigil.Anchor, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	rows, err := db.read.QueryContext(ctx, "SELECT "+anchorColumns+` FROM anchors a WHERE a.ws = ? AND a.status = 'confirmed'
		AND a.tree_size <= ? ORDER BY a.tree_size, a.id`, ws, treeSize)
	if err != nil {
		return nil, vigil.Unavailable("reading anchors failed", err)
	}
	defer rows.Close()
	var out []vigil.Anchor
	for rows.Next() {
		a, err := scanAnchor(rows, workspace)
		if err != nil {
			return nil, vigil.Unavailable("reading anchors failed", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// TreeRoot returns the root of a workspace's stored tree at size, from the
// stored hashes (the root an anchor of that size must have).
func (db *DB) TreeRoot(ctx context.Context, workspace string, size int64) (vigil.Hash, error) {
	if err := db.await(ctx, workspace); err != nil {
		return vigil.Hash{}, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Hash{}, err
	}
	n, err := db.treeSize(ctx, ws)
	if err != nil {
		return vigil.Hash{}, vigil.Unavailable("reading the log failed", err)
	}
	if size < 0 || size > n {
		return vigil.Hash{}, vigil.Errorf(vigil.ENOTFOUND, "the log has %d events, not %d", n, size)
	}
	h, err := tlog.TreeHash(size, hashReader{ctx, db, ws})
	if err != nil {
		if strings.Contains(err.Error(), "missing") {
			return vigil.Hash{}, vigil.Errorf(vigil.ENOTFOUND, "the stored tree does not reach size %d: %v", size, err)
		}
		return vigil.Hash{}, vigil.Unavailable("reading the tree failed", err)
	}
	return vigil.Hash(h), nil
}
