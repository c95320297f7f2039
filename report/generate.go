package report

import (
	"context"
	"encoding/json"
	"io"
	"time"

	"github.com/vigilhq/vigil"
)

// Source is what generating reads: events, streamed, and the ledger's
// checkpoints and proofs.
type Source interface {
	vigil.EventScanner
	Checkpoint(ctx context.Context, workspace string, size int64) (vigil.Checkpoint, error)
	InclusionProof(ctx context.Context, workspace string, sequence, treeSize int64) (vigil.InclusionProof, error)
}

// Latest returns the workspace's latest signed checkpoint: what a new
// report reflects. A log with no checkpoint yet has none to reflect, and
// the report would prove nothing: that is an error.
func Latest(ctx context.Context, src Source, workspace string) (vigil.Checkpoint, error) {
	cp, err := src.Checkpoint(ctx, workspace, -1)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return cp, vigil.Errorf(vigil.ENOTFOUND, "the workspace's log has no signed checkpoint yet")
	}
	return cp, err
}

// Title returns a report type's title.
func Title(typ string) string {
	if typ == vigil.KindExport {
		return "Export of events"
	}
	return definitions[typ].title
}

// Columns returns a report type's columns.
func Columns(typ string) []Column { return definitions[typ].columns }

// NewSink returns the renderer of a report format.
func NewSink(format string, w io.Writer) (Sink, bool) {
	switch format {
	case FormatJSON:
		return NewJSON(w), true
	case FormatCSV:
		return NewCSV(w), true
	case FormatPDF:
		return NewPDF(w), true
	}
	return nil, false
}

// Generate computes the report job r at checkpoint cp into w and returns
// its row count. r.Params are the normalised parameters (ParseParams'
// JSON).
func Generate(ctx context.Context, src Source, r vigil.Report, cp vigil.Checkpoint, verifierKey string, w io.Writer, now time.Time) (int64, error) {
	if r.Kind == vigil.KindExport {
		var f Filters
		if err := json.Unmarshal(r.Params, &f); err != nil {
			return 0, err
		}
		q, err := f.Query(r.Workspace, r.TenantScope)
		if err != nil {
			return 0, err
		}
		return WriteExport(ctx, w, src, src, q, cp, r.Format, verifierKey, r.Params)
	}
	def, ok := definitions[r.Type]
	if !ok {
		return 0, vigil.Invalid(vigil.ErrorDetail{Field: "type", Message: "unknown report type " + r.Type})
	}
	p, err := ParseStored(r.Type, r.Params)
	if err != nil {
		return 0, err
	}
	sink, ok := NewSink(r.Format, w)
	if !ok {
		return 0, vigil.Invalid(vigil.ErrorDetail{Field: "format", Message: "must be one of json, csv, pdf"})
	}
	meta := Meta{ID: r.ID, Title: def.title, Type: r.Type, Params: r.Params, Workspace: r.Workspace, TenantScope: r.TenantScope,
		Checkpoint: cp, GeneratedAt: now, Columns: def.columns}
	if err := sink.Begin(meta); err != nil {
		return 0, err
	}
	var n int64
	q := vigil.Query{Workspace: r.Workspace, TenantScope: r.TenantScope}
	err = def.run(ctx, src, q, cp.Size, p, func(cells []any) error {
		n++
		return sink.Row(cells)
	})
	if err != nil {
		return n, err
	}
	return n, sink.End(n)
}
