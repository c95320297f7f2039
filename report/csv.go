package report

import (
	"encoding/csv"
	"io"
)

// Neutralize defuses a spreadsheet formula: a cell starting with = + - @,
// a tab or a carriage return gets a leading apostrophe, so a hostile value
// such as =cmd|'/c calc'!A1 is shown as text instead of run (the OWASP
// CSV injection advice). Quoting is encoding/csv's.
func Neutralize(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// CSV renders a report as one header line and one line per row. The
// checkpoint the report reflects is in the job's status and the
// download's headers; the file holds only the table, so it loads as is.
type CSV struct {
	w   *csv.Writer
	buf []string
}

// NewCSV returns a CSV sink writing to w.
func NewCSV(w io.Writer) *CSV { return &CSV{w: csv.NewWriter(w)} }

func (c *CSV) Begin(m Meta) error {
	header := make([]string, len(m.Columns))
	for i, col := range m.Columns {
		header[i] = col.Name
	}
	c.buf = make([]string, len(m.Columns))
	return c.w.Write(header)
}

func (c *CSV) Row(cells []any) error {
	for i, cell := range cells {
		c.buf[i] = Neutralize(formatCell(cell))
	}
	return c.w.Write(c.buf)
}

func (c *CSV) End(int64) error {
	c.w.Flush()
	return c.w.Error()
}
