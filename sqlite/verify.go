package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
	"golang.org/x/mod/sumdb/tlog"
)

// maxBreaks bounds a report: past it, verification stops and says so.
const maxBreaks = 1000

// Verify implements vigil.Ledger. It re-reads the stored rows in sequence
// order, recomputes every leaf and every tree node from them, and compares
// them with the stored hashes, the signed checkpoints and the witness file.
// It holds O(log n) memory however long the log is.
func (db *DB) Verify(ctx context.Context, workspace string, opt vigil.VerifyOptions) (vigil.VerifyReport, error) {
	if err := db.await(ctx, workspace); err != nil {
		return vigil.VerifyReport{}, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.VerifyReport{}, err
	}
	// Sign what was acknowledged, so the log is compared with a signed
	// root all the way. A signature that cannot be made leaves the
	// verification to say what it can.
	if _, err := db.covering(ctx, ws, workspace); ctx.Err() != nil {
		return vigil.VerifyReport{}, ctx.Err()
	} else if err != nil && vigil.ErrorCode(err) != vigil.ENOTFOUND {
		db.log.Warn("no checkpoint before verification", "workspace", workspace, "err", err)
	}
	rep, err := db.verify(ctx, ws, workspace, opt, nil)
	if err != nil {
		return rep, err
	}
	rep, err = db.withFindings(ctx, ws, workspace, "a verification on request", rep)
	if err != nil {
		return rep, err
	}
	if opt == (vigil.VerifyOptions{}) {
		// A full verification is remembered, as the background one is.
		if err := db.recordVerification(ctx, ws, rep); err != nil {
			db.log.Warn("recording a verification failed", "workspace", workspace, "err", err)
		}
	}
	return rep, nil
}

type verification struct {
	db        *DB
	ws        int64
	workspace string
	rep       vigil.VerifyReport
	frontier  *ledger.Frontier
	vkey      string
}

func (v *verification) add(b vigil.Break) {
	if len(v.rep.Breaks) < maxBreaks {
		v.rep.Breaks = append(v.rep.Breaks, b)
	}
}

// verify does the work of Verify; throttle, when set, is called after
// each event so a background pass can keep to its rate.
func (db *DB) verify(ctx context.Context, ws int64, workspace string, opt vigil.VerifyOptions, throttle func()) (vigil.VerifyReport, error) {
	v := &verification{db: db, ws: ws, workspace: workspace, frontier: ledger.NewFrontier()}
	if db.cfg.SigningKey != "" {
		vkey, err := ledger.VerifierKey(db.cfg.SigningKey)
		if err != nil {
			return v.rep, err
		}
		v.vkey = vkey
	}
	// The log grows while it is verified (reads are themselves recorded).
	// What was signed is read before what was stored: the checkpoints,
	// then the witness (written before its checkpoint is stored, after the
	// events it covers), then the size. A witness older than a checkpoint
	// read before it, or a checkpoint larger than the log read after it,
	// is then tampering, never a race with an append.
	cps, err := db.allCheckpoints(ctx, ws)
	if err != nil {
		return v.rep, err
	}
	witness, err := v.witness(cps)
	if err != nil {
		return v.rep, err
	}
	n, err := db.treeSize(ctx, ws)
	if err != nil {
		return v.rep, vigil.Unavailable("reading the ledger failed", err)
	}
	var leaves int64
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM ledger_hashes WHERE ws = ?", ws).Scan(&leaves); err != nil {
		return v.rep, vigil.Unavailable("reading the ledger failed", err)
	}
	// The number of leaves that stored hashes imply: the largest size whose
	// stored hash count fits what is stored.
	hashed := leavesForStoredCount(leaves)
	if hashed > n {
		n = hashed
	}
	to := opt.To
	if to <= 0 || to > n {
		to = n
	}
	from := max(opt.From, 0)
	if opt.Limit > 0 && from+opt.Limit < to {
		to = from + opt.Limit
	}
	v.rep.TreeSize = n

	hashRows, err := db.read.QueryContext(ctx, "SELECT idx, hash FROM ledger_hashes WHERE ws = ? ORDER BY idx", ws)
	if err != nil {
		return v.rep, vigil.Unavailable("reading the ledger failed", err)
	}
	defer hashRows.Close()
	eventRows, err := db.read.QueryContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND e.seq >= ? AND e.seq < ? ORDER BY e.seq", ws, from, to)
	if err != nil {
		return v.rep, vigil.Unavailable("reading events failed", err)
	}
	defer eventRows.Close()

	hashes := &hashStream{rows: hashRows}
	events := &eventStream{db: db, rows: eventRows, workspace: workspace}
	var buf []byte
	var lastCreated time.Time
	var witnessRoot *vigil.Hash
	checkCheckpoints := func(size int64) {
		root := v.frontier.Root()
		for len(cps) > 0 && cps[0].Size <= size {
			if cps[0].Size == size {
				v.checkCheckpoint(cps[0], root)
			}
			cps = cps[1:]
		}
		if witness != nil && witness.Size == size {
			witnessRoot = &root
		}
	}
	checkCheckpoints(0)
	for s := int64(0); s < to; s++ {
		if err := ctx.Err(); err != nil {
			return v.rep, err
		}
		if len(v.rep.Breaks) >= maxBreaks {
			break
		}
		stored, err := hashes.forLeaf(s)
		if err != nil {
			return v.rep, vigil.Unavailable("reading the ledger failed", err)
		}
		var leaf vigil.Hash
		haveLeaf := len(stored) > 0 && stored[0] != nil
		if haveLeaf {
			leaf = *stored[0]
		} else {
			v.add(vigil.Break{Type: vigil.BreakHashMismatch, Sequence: s, Detail: fmt.Sprintf("the stored leaf hash of event %d is missing", s)})
		}
		if s >= from {
			e, ok, err := events.at(s)
			if err != nil {
				return v.rep, vigil.Unavailable("reading events failed", err)
			}
			if !ok {
				v.add(vigil.Break{Type: vigil.BreakMissing, Sequence: s, ExpectedHash: hashString(leaf, haveLeaf), Detail: fmt.Sprintf("no event with sequence %d", s)})
			} else {
				buf = ledger.AppendEvent(buf[:0], &e)
				actual := ledger.LeafHash(buf)
				if !haveLeaf {
					leaf = actual
				} else if actual != leaf {
					v.add(vigil.Break{Type: vigil.BreakModified, EventID: e.ID, Sequence: s, ExpectedHash: leaf.String(), ActualHash: actual.String()})
				}
				if !e.CreatedAt.After(lastCreated) && s > from {
					v.add(vigil.Break{Type: vigil.BreakReordered, EventID: e.ID, Sequence: s, Detail: "created_at is not after the previous event's: events are out of sequence order"})
				}
				lastCreated = e.CreatedAt
				v.rep.EventsChecked++
			}
		}
		computed := v.frontier.Append(leaf)
		for level := 1; level < len(computed); level++ {
			idx := tlog.StoredHashIndex(level, s>>level)
			switch {
			case level >= len(stored) || stored[level] == nil:
				v.add(vigil.Break{Type: vigil.BreakHashMismatch, Sequence: s, ExpectedHash: computed[level].String(), Detail: fmt.Sprintf("stored tree node %d is missing", idx)})
			case *stored[level] != computed[level]:
				v.add(vigil.Break{Type: vigil.BreakHashMismatch, Sequence: s, ExpectedHash: computed[level].String(), ActualHash: stored[level].String(), Detail: fmt.Sprintf("stored tree node %d disagrees with its children", idx)})
			}
		}
		checkCheckpoints(s + 1)
		if throttle != nil {
			throttle()
		}
	}
	if extra, err := events.rest(); err != nil {
		return v.rep, vigil.Unavailable("reading events failed", err)
	} else {
		for _, e := range extra {
			v.add(vigil.Break{Type: vigil.BreakModified, EventID: e.ID, Sequence: e.Sequence, Detail: "an event without a place in the ledger"})
		}
	}
	if to == n {
		for _, cp := range cps {
			v.add(vigil.Break{Type: vigil.BreakTruncated, Sequence: -1, ExpectedHash: cp.Root.String(),
				Detail: fmt.Sprintf("a checkpoint signed a log of %d events; the log holds %d", cp.Size, n)})
		}
		v.checkWitness(witness, witnessRoot, n)
	}
	v.rep.Valid = len(v.rep.Breaks) == 0
	return v.rep, nil
}

func hashString(h vigil.Hash, ok bool) string {
	if !ok {
		return ""
	}
	return h.String()
}

func (v *verification) checkCheckpoint(cp vigil.Checkpoint, root vigil.Hash) {
	if v.vkey != "" {
		signed, err := ledger.Open(cp.Note, v.vkey)
		if err != nil {
			v.add(vigil.Break{Type: vigil.BreakSignatureInvalid, Sequence: -1, Detail: fmt.Sprintf("checkpoint of size %d: %v", cp.Size, err)})
			return
		}
		if signed.Size != cp.Size || signed.Root != cp.Root || signed.Origin != v.db.origin(v.workspace) {
			v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1, ExpectedHash: signed.Root.String(), ActualHash: cp.Root.String(),
				Detail: fmt.Sprintf("the stored checkpoint of size %d disagrees with its signed note", cp.Size)})
			return
		}
	}
	if cp.Root != root {
		v.add(vigil.Break{Type: vigil.BreakCheckpointMismatch, Sequence: -1, ExpectedHash: cp.Root.String(), ActualHash: root.String(),
			Detail: fmt.Sprintf("the tree of %d events does not have the signed root", cp.Size)})
	}
}

// witness returns the latest checkpoint kept outside the database, after
// judging it against the stored checkpoints cps.
func (v *verification) witness(cps []vigil.Checkpoint) (*vigil.Checkpoint, error) {
	if v.db.cfg.WitnessPath == "" || v.vkey == "" {
		return nil, nil
	}
	notes, err := v.db.readWitness()
	var garbled *witnessFormatError
	if err != nil && !errors.As(err, &garbled) {
		return nil, vigil.Unavailable("reading the witness file failed", err)
	}
	latest := int64(-1)
	if len(cps) > 0 {
		latest = cps[len(cps)-1].Size
	}
	cp, breaks := judgeWitness(notes, garbled, v.workspace, v.db.origin(v.workspace), v.vkey, latest)
	for _, b := range breaks {
		v.add(b)
	}
	return cp, nil
}

func (v *verification) checkWitness(w *vigil.Checkpoint, root *vigil.Hash, n int64) {
	switch {
	case w == nil:
	case w.Size > n:
		v.add(rollbackBreak(*w, n))
	case root != nil && *root != w.Root:
		v.add(rewrittenBreak(*w, *root))
	}
}

func (db *DB) allCheckpoints(ctx context.Context, ws int64) ([]vigil.Checkpoint, error) {
	rows, err := db.read.QueryContext(ctx, "SELECT size, root, note FROM checkpoints WHERE ws = ? ORDER BY size", ws)
	if err != nil {
		return nil, vigil.Unavailable("reading checkpoints failed", err)
	}
	defer rows.Close()
	var cps []vigil.Checkpoint
	for rows.Next() {
		var c vigil.Checkpoint
		var root []byte
		var note string
		if err := rows.Scan(&c.Size, &root, &note); err != nil {
			return nil, vigil.Unavailable("reading checkpoints failed", err)
		}
		copy(c.Root[:], root)
		c.Note = []byte(note)
		cps = append(cps, c)
	}
	return cps, rows.Err()
}

// leavesForStoredCount inverts tlog.StoredHashCount: the largest n whose
// stored hash count is at most c.
func leavesForStoredCount(c int64) int64 {
	lo, hi := int64(0), c
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if tlog.StoredHashCount(mid) <= c {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}

// hashStream reads stored hashes in index order, which is the order in
// which appends created them.
type hashStream struct {
	rows   *sql.Rows
	peeked bool
	idx    int64
	hash   vigil.Hash
	done   bool
}

func (h *hashStream) next() (bool, error) {
	if h.peeked {
		return true, nil
	}
	if h.done {
		return false, nil
	}
	if !h.rows.Next() {
		h.done = true
		return false, h.rows.Err()
	}
	var b []byte
	if err := h.rows.Scan(&h.idx, &b); err != nil {
		return false, err
	}
	h.hash = vigil.Hash{}
	copy(h.hash[:], b)
	h.peeked = true
	return true, nil
}

// forLeaf returns the stored hashes leaf s created, level by level; a nil
// entry is one that is not stored.
func (h *hashStream) forLeaf(s int64) ([]*vigil.Hash, error) {
	base := tlog.StoredHashIndex(0, s)
	count := int64(1)
	for k := s; k&1 == 1; k >>= 1 {
		count++
	}
	out := make([]*vigil.Hash, count)
	for {
		ok, err := h.next()
		if err != nil || !ok {
			return out, err
		}
		if h.idx < base {
			h.peeked = false // an index before this leaf's: already judged missing
			continue
		}
		if h.idx >= base+count {
			return out, nil
		}
		hh := h.hash
		out[h.idx-base] = &hh
		h.peeked = false
	}
}

// eventStream reads event rows in sequence order.
type eventStream struct {
	db        *DB
	rows      *sql.Rows
	workspace string
	peeked    bool
	ev        vigil.Event
	done      bool
}

func (s *eventStream) next() (bool, error) {
	if s.peeked {
		return true, nil
	}
	if s.done {
		return false, nil
	}
	if !s.rows.Next() {
		s.done = true
		return false, s.rows.Err()
	}
	e, err := s.db.scanLeaf(s.rows, s.workspace)
	if err != nil {
		return false, err
	}
	s.ev, s.peeked = e, true
	return true, nil
}

// at returns the event with sequence seq if it is the next one stored.
func (s *eventStream) at(seq int64) (vigil.Event, bool, error) {
	for {
		ok, err := s.next()
		if err != nil || !ok {
			return vigil.Event{}, false, err
		}
		switch {
		case s.ev.Sequence < seq: // a duplicate sequence: impossible under the primary key
			s.peeked = false
		case s.ev.Sequence == seq:
			s.peeked = false
			return s.ev, true, nil
		default:
			return vigil.Event{}, false, nil
		}
	}
}

// rest returns the events left after the last expected sequence.
func (s *eventStream) rest() ([]vigil.Event, error) {
	var out []vigil.Event
	for len(out) < maxBreaks {
		ok, err := s.next()
		if err != nil || !ok {
			return out, err
		}
		out = append(out, s.ev)
		s.peeked = false
	}
	return out, nil
}
