package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/crypt"
)

var _ vigil.LegalHolds = (*DB)(nil)

// holdContent is what a hold says that may identify someone (the patient,
// the reasons a lawyer writes): sealed under the workspace's data key of
// the time it was written when the store encrypts at rest.
type holdContent struct {
	PatientID string `json:"patient_id,omitempty"`
	Reason    string `json:"reason"`
}

// CreateLegalHold implements vigil.LegalHolds.
func (db *DB) CreateLegalHold(ctx context.Context, h vigil.LegalHold) (vigil.LegalHold, error) {
	if err := h.Check(); err != nil {
		return h, err
	}
	ws, err := db.workspaceID(ctx, h.Workspace)
	if err != nil {
		return h, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return h, vigil.Unavailable("creating a hold id failed", err)
	}
	h.ID, h.CreatedAt = id.String(), h.CreatedAt.UTC()
	patient, err := db.holdIndex(ctx, h.Workspace, h.PatientID)
	if err != nil {
		return h, err
	}
	content, key, err := db.sealHold(ctx, h.Workspace, h.ID, "created", h.CreatedAt, holdContent{PatientID: h.PatientID, Reason: h.Reason})
	if err != nil {
		return h, err
	}
	_, err = db.write.ExecContext(ctx, `INSERT INTO legal_holds (id, ws, tenant_id, patient_index, from_ns, to_ns, content, content_key, created_by, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?)`, h.ID, ws, null(h.TenantID), patient, nullTime(h.From), nullTime(h.To), content, null(key),
		h.CreatedBy, h.CreatedAt.UnixNano())
	if err != nil {
		return h, vigil.Unavailable("storing the legal hold failed", err)
	}
	return h, nil
}

// holdIndex is how a hold keeps a patient id: as the events do, the blind
// index under the workspace's index key when the store encrypts at rest.
func (db *DB) holdIndex(ctx context.Context, workspace, patient string) (any, error) {
	if patient == "" {
		return nil, nil
	}
	if db.keys == nil {
		return patient, nil
	}
	b, err := db.keys.Blinder(ctx, workspace)
	if err != nil {
		return nil, vigil.Unavailable("the blind-index key is not available", err)
	}
	return b.Index("patient_id", patient), nil
}

// sealHold encodes v, sealed when the store encrypts at rest; the
// associated data binds it to its hold and its part (created or
// released), so content moved to another hold or part does not open.
func (db *DB) sealHold(ctx context.Context, workspace, id, part string, at time.Time, v any) ([]byte, string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return nil, "", err
	}
	if db.keys == nil {
		return plain, "", nil
	}
	key, aead, err := db.keys.SealKey(ctx, workspace, at)
	if err != nil {
		return nil, "", vigil.Unavailable("the data key is not available", err)
	}
	sealed, err := crypt.Seal(aead, plain, []byte("legal_hold/"+id+"/"+part))
	if err != nil {
		return nil, "", vigil.Unavailable("sealing the legal hold failed", err)
	}
	return sealed, key, nil
}

func (db *DB) openHold(ctx context.Context, id, part string, content []byte, key sql.NullString, v any) error {
	plain := content
	if key.Valid {
		if db.keys == nil {
			return vigil.Errorf(vigil.EUNAVAILABLE, "a legal hold is sealed and this store has no key-encryption key")
		}
		aead, err := db.keys.OpenKey(ctx, key.String)
		if err != nil {
			return vigil.Unavailable("the data key of a legal hold is not available", err)
		}
		if plain, err = crypt.Open(aead, content, []byte("legal_hold/"+id+"/"+part)); err != nil {
			return vigil.Unavailable("a legal hold does not decrypt: it was altered", err)
		}
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return vigil.Unavailable("a legal hold does not decode", err)
	}
	return nil
}

const holdColumns = `h.id, h.tenant_id, h.patient_index, h.from_ns, h.to_ns, h.content, h.content_key, h.created_by, h.created_at,
	h.released_at, h.released_by, h.release_content, h.release_key`

// holdRow is a stored hold before its content is opened.
type holdRow struct {
	hold                    vigil.LegalHold
	patientIndex            sql.NullString
	content, releaseContent []byte
	contentKey, releaseKey  sql.NullString
}

func scanHold(s scanner, workspace string) (holdRow, error) {
	var r holdRow
	var tenant, releasedBy sql.NullString
	var from, to, released sql.NullInt64
	var created int64
	if err := s.Scan(&r.hold.ID, &tenant, &r.patientIndex, &from, &to, &r.content, &r.contentKey, &r.hold.CreatedBy, &created,
		&released, &releasedBy, &r.releaseContent, &r.releaseKey); err != nil {
		return r, err
	}
	h := &r.hold
	h.Workspace, h.TenantID, h.ReleasedBy = workspace, tenant.String, releasedBy.String
	h.CreatedAt = time.Unix(0, created).UTC()
	if from.Valid {
		h.From = time.Unix(0, from.Int64).UTC()
	}
	if to.Valid {
		h.To = time.Unix(0, to.Int64).UTC()
	}
	if released.Valid {
		h.ReleasedAt = time.Unix(0, released.Int64).UTC()
	}
	return r, nil
}

// open returns the hold with its content.
func (db *DB) open(ctx context.Context, r holdRow) (vigil.LegalHold, error) {
	h := r.hold
	var c holdContent
	if err := db.openHold(ctx, h.ID, "created", r.content, r.contentKey, &c); err != nil {
		return h, err
	}
	h.PatientID, h.Reason = c.PatientID, c.Reason
	if r.releaseContent != nil {
		var rc holdContent
		if err := db.openHold(ctx, h.ID, "released", r.releaseContent, r.releaseKey, &rc); err != nil {
			return h, err
		}
		h.ReleaseReason = rc.Reason
	}
	return h, nil
}

// holdRows returns the stored holds of a workspace, oldest first; with
// active, only those not released.
func (db *DB) holdRows(ctx context.Context, workspace string, active bool) ([]holdRow, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return nil, err
	}
	q := "SELECT " + holdColumns + " FROM legal_holds h WHERE h.ws = ?"
	if active {
		q += " AND h.released_at IS NULL"
	}
	rows, err := db.read.QueryContext(ctx, q+" ORDER BY h.id", ws)
	if err != nil {
		return nil, vigil.Unavailable("reading legal holds failed", err)
	}
	defer rows.Close()
	var out []holdRow
	for rows.Next() {
		r, err := scanHold(rows, workspace)
		if err != nil {
			return nil, vigil.Unavailable("reading legal holds failed", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, vigil.Unavailable("reading legal holds failed", err)
	}
	return out, nil
}

// LegalHold implements vigil.LegalHolds.
func (db *DB) LegalHold(ctx context.Context, workspace, id string) (vigil.LegalHold, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.LegalHold{}, err
	}
	r, err := scanHold(db.read.QueryRowContext(ctx, "SELECT "+holdColumns+" FROM legal_holds h WHERE h.ws = ? AND h.id = ?", ws, id), workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.LegalHold{}, vigil.Errorf(vigil.ENOTFOUND, "legal hold not found")
	} else if err != nil {
		return vigil.LegalHold{}, vigil.Unavailable("reading the legal hold failed", err)
	}
	return db.open(ctx, r)
}

// LegalHoldsOf implements vigil.LegalHolds.
func (db *DB) LegalHoldsOf(ctx context.Context, workspace string) ([]vigil.LegalHold, error) {
	rows, err := db.holdRows(ctx, workspace, false)
	if err != nil {
		return nil, err
	}
	out := make([]vigil.LegalHold, 0, len(rows))
	for _, r := range rows {
		h, err := db.open(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// ReleaseLegalHold implements vigil.LegalHolds.
func (db *DB) ReleaseLegalHold(ctx context.Context, workspace, id, by, reason string, at time.Time) (vigil.LegalHold, error) {
	var v []vigil.ErrorDetail
	if msg := vigil.CheckString(reason, vigil.Line, vigil.MaxTextLength); msg != "" {
		v = append(v, vigil.ErrorDetail{Field: "reason", Message: msg})
	} else if strings.TrimSpace(reason) == "" {
		v = append(v, vigil.ErrorDetail{Field: "reason", Message: "is required"})
	}
	if len(v) > 0 {
		return vigil.LegalHold{}, vigil.Invalid(v...)
	}
	h, err := db.LegalHold(ctx, workspace, id)
	if err != nil {
		return h, err
	}
	if !h.Active() {
		return h, vigil.Errorf(vigil.ECONFLICT, "the legal hold was released at %s", h.ReleasedAt.Format(time.RFC3339Nano))
	}
	at = at.UTC()
	content, key, err := db.sealHold(ctx, workspace, id, "released", at, holdContent{Reason: reason})
	if err != nil {
		return h, err
	}
	res, err := db.write.ExecContext(ctx, `UPDATE legal_holds SET released_at = ?, released_by = ?, release_content = ?, release_key = ?
		WHERE id = ? AND released_at IS NULL`, at.UnixNano(), by, content, null(key), id)
	if err != nil {
		return h, vigil.Unavailable("releasing the legal hold failed", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// Released by another request between the read and the update.
		return h, vigil.Errorf(vigil.ECONFLICT, "the legal hold was released by another request")
	}
	h.ReleasedAt, h.ReleasedBy, h.ReleaseReason = at, by, reason
	return h, nil
}

// Covers implements vigil.LegalHolds. The patient is compared as stored:
// the subject's patient is indexed as the holds' are.
func (db *DB) Covers(ctx context.Context, workspace string, s vigil.HoldSubject) ([]vigil.LegalHold, error) {
	rows, err := db.holdRows(ctx, workspace, true)
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	asked := s
	if s.PatientID != "" {
		idx, err := db.holdIndex(ctx, workspace, s.PatientID)
		if err != nil {
			return nil, err
		}
		asked.PatientID = idx.(string)
	}
	var out []vigil.LegalHold
	for _, r := range rows {
		stored := r.hold
		stored.PatientID = r.patientIndex.String
		if !stored.Covers(asked) {
			continue
		}
		h, err := db.open(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}
