package report

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/ledger"
)

// Filters are an export's selection: Immutable's export filters.
type Filters struct {
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	ActorID   string `json:"actor_id,omitempty"`
	Action    string `json:"action,omitempty"`
	Resource  string `json:"resource,omitempty"`
	TenantID  string `json:"tenant_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Search    string `json:"search,omitempty"`
}

// Query turns validated filters into a query of the workspace.
func (f Filters) Query(workspace, tenantScope string) (vigil.Query, error) {
	q := vigil.Query{Workspace: workspace, TenantScope: tenantScope, ActorID: f.ActorID, Action: f.Action,
		Resource: f.Resource, TenantID: f.TenantID, SessionID: f.SessionID, Search: f.Search}
	var bad problems
	// The filters take what the event query's parameters of the same
	// names take.
	for _, x := range []struct {
		name, v string
		kind    vigil.StringKind
		max     int
	}{{"actor_id", f.ActorID, vigil.Identifier, vigil.MaxIDLength}, {"action", f.Action, vigil.Identifier, vigil.MaxIDLength},
		{"resource", f.Resource, vigil.Identifier, vigil.MaxIDLength}, {"tenant_id", f.TenantID, vigil.Identifier, vigil.MaxIDLength},
		{"session_id", f.SessionID, vigil.Identifier, vigil.MaxIDLength}, {"search", f.Search, vigil.Line, vigil.MaxTextLength}} {
		if msg := vigil.CheckString(x.v, x.kind, x.max); msg != "" {
			bad.add(x.name, msg)
		}
	}
	for _, x := range []struct {
		name, v string
		dst     *time.Time
	}{{"from", f.From, &q.From}, {"to", f.To, &q.To}} {
		if x.v == "" {
			continue
		}
		sp, err := vigil.ParseTime(x.v, vigil.TimeInstantOrDate)
		if err != nil {
			bad.add(x.name, err.Error())
		}
		*x.dst = sp.Start
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		bad.add("to", "must be after from")
	}
	if len(bad) > 0 {
		return q, vigil.Invalid(bad...)
	}
	return q, nil
}

// Export formats.
const (
	FormatCSV     = "csv"
	FormatNDJSON  = "ndjson"
	FormatParquet = "parquet"
	FormatJSON    = "json"
	FormatPDF     = "pdf"
)

// exportColumns are the CSV export's columns: every field of an event.
var exportColumns = []string{"id", "sequence", "occurred_at", "created_at", "actor_id", "actor_name", "actor_type",
	"action", "action_category", "resource", "resource_id", "resource_name", "targets", "metadata", "tenant_id",
	"session_id", "idempotency_key", "version", "outcome", "patient_id", "purpose_of_use", "ip_address",
	"ip_country", "ip_city", "ip_region", "user_agent", "source"}

func targetsJSON(ts []vigil.Target) string {
	if len(ts) == 0 {
		return ""
	}
	type t struct {
		Type     string          `json:"type"`
		ID       string          `json:"id"`
		Name     string          `json:"name,omitempty"`
		Metadata json.RawMessage `json:"metadata,omitempty"`
	}
	out := make([]t, len(ts))
	for i, x := range ts {
		out[i] = t{x.Type, x.ID, x.Name, x.Metadata}
	}
	b, _ := json.Marshal(out)
	return string(b)
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func csvRecord(dst []string, e *vigil.Event) []string {
	dst = append(dst[:0], e.ID, itoa(e.Sequence), ts(e.OccurredAt), ts(e.CreatedAt), e.ActorID, e.ActorName, e.ActorType,
		e.Action, e.ActionCategory, e.Resource, e.ResourceID, e.ResourceName, targetsJSON(e.Targets), string(e.Metadata),
		e.TenantID, e.SessionID, e.IdempotencyKey, e.Version, string(e.Outcome), e.PatientID, e.PurposeOfUse,
		e.IPAddress, e.IPCountry, e.IPCity, e.IPRegion, e.UserAgent, e.Source)
	for i := range dst {
		dst[i] = Neutralize(dst[i])
	}
	return dst
}

// ParquetEvent is the Parquet export's row: typed columns, times as
// timestamps (nanoseconds, UTC), absent fields null. targets and metadata
// hold JSON text (parquet-go's JSON logical type on optional strings does
// not read back).
type ParquetEvent struct {
	ID             string    `parquet:"id"`
	Sequence       int64     `parquet:"sequence"`
	OccurredAt     time.Time `parquet:"occurred_at,timestamp(nanosecond)"`
	CreatedAt      time.Time `parquet:"created_at,timestamp(nanosecond)"`
	ActorID        string    `parquet:"actor_id,dict"`
	ActorName      *string   `parquet:"actor_name,optional"`
	ActorType      *string   `parquet:"actor_type,optional,dict"`
	Action         string    `parquet:"action,dict"`
	ActionCategory *string   `parquet:"action_category,optional,dict"`
	Resource       *string   `parquet:"resource,optional,dict"`
	ResourceID     *string   `parquet:"resource_id,optional"`
	ResourceName   *string   `parquet:"resource_name,optional"`
	Targets        *string   `parquet:"targets,optional"`
	Metadata       *string   `parquet:"metadata,optional"`
	TenantID       *string   `parquet:"tenant_id,optional,dict"`
	SessionID      *string   `parquet:"session_id,optional"`
	IdempotencyKey *string   `parquet:"idempotency_key,optional"`
	Version        *string   `parquet:"version,optional"`
	Outcome        string    `parquet:"outcome,dict"`
	PatientID      *string   `parquet:"patient_id,optional"`
	PurposeOfUse   *string   `parquet:"purpose_of_use,optional,dict"`
	IPAddress      *string   `parquet:"ip_address,optional"`
	IPCountry      *string   `parquet:"ip_country,optional,dict"`
	IPCity         *string   `parquet:"ip_city,optional"`
	IPRegion       *string   `parquet:"ip_region,optional"`
	UserAgent      *string   `parquet:"user_agent,optional"`
	Source         *string   `parquet:"source,optional,dict"`
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func parquetRow(e *vigil.Event) ParquetEvent {
	return ParquetEvent{ID: e.ID, Sequence: e.Sequence, OccurredAt: e.OccurredAt.UTC(), CreatedAt: e.CreatedAt.UTC(),
		ActorID: e.ActorID, ActorName: opt(e.ActorName), ActorType: opt(e.ActorType), Action: e.Action,
		ActionCategory: opt(e.ActionCategory), Resource: opt(e.Resource), ResourceID: opt(e.ResourceID),
		ResourceName: opt(e.ResourceName), Targets: opt(targetsJSON(e.Targets)), Metadata: opt(string(e.Metadata)),
		TenantID: opt(e.TenantID), SessionID: opt(e.SessionID), IdempotencyKey: opt(e.IdempotencyKey),
		Version: opt(e.Version), Outcome: string(e.Outcome), PatientID: opt(e.PatientID), PurposeOfUse: opt(e.PurposeOfUse),
		IPAddress: opt(e.IPAddress), IPCountry: opt(e.IPCountry), IPCity: opt(e.IPCity), IPRegion: opt(e.IPRegion),
		UserAgent: opt(e.UserAgent), Source: opt(e.Source)}
}

// parquetBatch is how many rows are handed to the writer at once, and
// parquetRowGroup how many make a row group: what the writer buffers.
const (
	parquetBatch    = 1024
	parquetRowGroup = 64 * 1024
)

// Prover proves an event's inclusion in the tree of a checkpoint. A
// prover that is also a vigil.BatchProver is asked for its batch form.
type Prover = vigil.InclusionProver

// WriteExport streams the events q selects below the checkpoint cp into w
// in format, and returns how many it wrote. NDJSON carries the signed
// checkpoint and each event's inclusion proof (ledger.VerifyExport, vigil
// verify --export).
func WriteExport(ctx context.Context, w io.Writer, src vigil.EventScanner, prover Prover, q vigil.Query, cp vigil.Checkpoint,
	format, verifierKey string, filters json.RawMessage) (int64, error) {
	events := src.ScanEvents(ctx, q, cp.Size, vigil.BySequence)
	var n int64
	switch format {
	case FormatCSV:
		cw := csv.NewWriter(w)
		cw.Write(exportColumns)
		rec := make([]string, 0, len(exportColumns))
		for e, err := range events {
			if err != nil {
				return n, err
			}
			rec = csvRecord(rec, &e)
			if err := cw.Write(rec); err != nil {
				return n, err
			}
			n++
		}
		cw.Flush()
		return n, cw.Error()
	case FormatNDJSON:
		canon, err := ledger.Canonicalize(filters)
		if err != nil {
			return 0, err
		}
		x, err := ledger.NewExportWriter(w, cp.Origin, verifierKey, cp, canon)
		if err != nil {
			return 0, err
		}
		if bp, ok := prover.(vigil.BatchProver); ok {
			if prover, err = bp.InclusionProver(ctx, q.Workspace, cp.Size); err != nil {
				return 0, err
			}
		}
		var leaf []byte
		for e, err := range events {
			if err != nil {
				return n, err
			}
			p, err := prover.InclusionProof(ctx, q.Workspace, e.Sequence, cp.Size)
			if err != nil {
				return n, err
			}
			leaf = ledger.AppendEvent(leaf[:0], &e)
			if err := x.Event(leaf, p.Hashes); err != nil {
				return n, err
			}
			n++
		}
		return n, x.Close()
	case FormatParquet:
		pw := parquet.NewGenericWriter[ParquetEvent](w, parquet.MaxRowsPerRowGroup(parquetRowGroup),
			parquet.Compression(&parquet.Snappy), parquet.KeyValueMetadata("vigil.checkpoint", string(cp.Note)))
		batch := make([]ParquetEvent, 0, parquetBatch)
		flush := func() error {
			_, err := pw.Write(batch)
			batch = batch[:0]
			return err
		}
		for e, err := range events {
			if err != nil {
				return n, err
			}
			batch = append(batch, parquetRow(&e))
			n++
			if len(batch) == cap(batch) {
				if err := flush(); err != nil {
					return n, err
				}
			}
		}
		if err := flush(); err != nil {
			return n, err
		}
		return n, pw.Close()
	}
	return 0, vigil.Invalid(vigil.ErrorDetail{Field: "format", Message: "must be one of " + strings.Join(ExportFormats, ", ")})
}

// ExportFormats and ReportFormats list the formats each kind takes.
var (
	ExportFormats = []string{FormatCSV, FormatNDJSON, FormatParquet}
	ReportFormats = []string{FormatJSON, FormatCSV, FormatPDF}
)
