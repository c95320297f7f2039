package report

import (
	"encoding/json"
	"time"

	"github.com/vigilhq/vigil"
)

// Column kinds: how a cell is typed in JSON and Parquet and aligned in PDF.
const (
	Text  = "text"
	Count = "count"
	Time  = "time"
)

// Column is one column of a report's table. Width is its share of a PDF
// page's width.
type Column struct {
	Name  string
	Kind  string
	Width float64
}

// Meta describes a report: what was asked and which log it reflects.
type Meta struct {
	ID          string
	Title       string
	Type        string
	Params      json.RawMessage
	Workspace   string
	TenantScope string
	Checkpoint  vigil.Checkpoint // Size and Root; Note when signed
	GeneratedAt time.Time
	Columns     []Column
}

// Sink receives a report's table one row at a time; the renderers are
// sinks. Cells are string, int64 or time.Time, as the column's kind says.
type Sink interface {
	Begin(m Meta) error
	Row(cells []any) error
	End(rows int64) error
}

// formatCell renders a cell as text (CSV and PDF).
func formatCell(c any) string {
	switch v := c.(type) {
	case string:
		return v
	case int64:
		return itoa(v)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339Nano)
	}
	return ""
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
