package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-pdf/fpdf"
	"github.com/vigilhq/vigil"
)

// MaxPDFRows bounds a PDF report: fpdf builds the document in memory, and
// a table longer than this is for CSV or JSON, not for reading.
const MaxPDFRows = 20000

// PDF renders a report for people: title, parameters, the checkpoint it
// reflects, the table (its header repeated on every page) and page
// numbers. Cells too wide for their column are cut with "..."; the CSV
// and JSON forms hold them whole.
type PDF struct {
	w      io.Writer
	pdf    *fpdf.Fpdf
	tr     func(string) string
	cols   []Column
	widths []float64
	n      int64
}

// NewPDF returns a PDF sink writing to w when the report ends.
func NewPDF(w io.Writer) *PDF { return &PDF{w: w} }

const (
	pdfMargin = 10.0
	rowH      = 5.0
)

func (p *PDF) Begin(m Meta) error {
	p.pdf = fpdf.New("L", "mm", "A4", "")
	p.pdf.SetMargins(pdfMargin, pdfMargin, pdfMargin)
	p.pdf.SetAutoPageBreak(false, 0)
	p.pdf.AliasNbPages("{nb}")
	p.pdf.SetTitle(m.Title, true)
	p.pdf.SetCreator("Vigil", true)
	p.tr = p.pdf.UnicodeTranslatorFromDescriptor("") // cp1252: the core fonts' encoding
	p.pdf.SetFooterFunc(func() {
		p.pdf.SetY(-10)
		p.pdf.SetFont("Helvetica", "I", 8)
		p.pdf.CellFormat(0, 5, fmt.Sprintf("Page %d of {nb}", p.pdf.PageNo()), "", 0, "C", false, 0, "")
	})
	p.cols = m.Columns
	pageW, _ := p.pdf.GetPageSize()
	var total float64
	for _, c := range m.Columns {
		total += c.Width
	}
	for _, c := range m.Columns {
		p.widths = append(p.widths, (pageW-2*pdfMargin)*c.Width/total)
	}
	p.pdf.AddPage()
	p.pdf.SetFont("Helvetica", "B", 14)
	p.pdf.CellFormat(0, 8, p.tr(m.Title), "", 1, "L", false, 0, "")
	p.pdf.SetFont("Helvetica", "", 9)
	line := func(k, v string) {
		p.pdf.SetFont("Helvetica", "B", 9)
		p.pdf.CellFormat(40, 5, p.tr(k), "", 0, "L", false, 0, "")
		p.pdf.SetFont("Helvetica", "", 9)
		p.pdf.MultiCell(0, 5, p.tr(v), "", "L", false)
	}
	line("Report type", m.Type)
	if m.ID != "" {
		line("Report id", m.ID)
	}
	line("Workspace", m.Workspace)
	if m.TenantScope != "" {
		line("Tenant", m.TenantScope)
	}
	line("Parameters", string(m.Params))
	line("Generated at", m.GeneratedAt.UTC().Format(time.RFC3339))
	line("Checkpoint", fmt.Sprintf("%s, tree size %d", m.Checkpoint.Origin, m.Checkpoint.Size))
	line("Root hash", m.Checkpoint.Root.String())
	p.pdf.Ln(3)
	p.header()
	return p.pdf.Error()
}

func (p *PDF) header() {
	p.pdf.SetFont("Helvetica", "B", 8)
	p.pdf.SetFillColor(225, 225, 225)
	for i, c := range p.cols {
		p.pdf.CellFormat(p.widths[i], rowH+1, p.fit(c.Name, p.widths[i]), "1", 0, "L", true, 0, "")
	}
	p.pdf.Ln(-1)
	p.pdf.SetFont("Helvetica", "", 7)
}

func (p *PDF) Row(cells []any) error {
	if p.n >= MaxPDFRows {
		return vigil.Errorf(vigil.EINVALID, "the report has more than %d rows, too many for a PDF: request csv or json", MaxPDFRows)
	}
	p.n++
	_, pageH := p.pdf.GetPageSize()
	if p.pdf.GetY()+rowH > pageH-15 {
		p.pdf.AddPage()
		p.header()
	}
	for i, cell := range cells {
		s := formatCell(cell)
		align := "L"
		if p.cols[i].Kind == Count {
			align = "R"
		}
		if t, ok := cell.(time.Time); ok && !t.IsZero() {
			s = t.UTC().Format("2006-01-02 15:04:05Z")
		}
		p.pdf.CellFormat(p.widths[i], rowH, p.fit(s, p.widths[i]), "1", 0, align, false, 0, "")
	}
	p.pdf.Ln(-1)
	return p.pdf.Error()
}

// fit translates s to the font's encoding and cuts it to the width.
func (p *PDF) fit(s string, w float64) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' {
			return ' '
		}
		return r
	}, s)
	t := p.tr(s)
	max := w - 2
	if p.pdf.GetStringWidth(t) <= max {
		return t
	}
	r := []rune(s)
	for len(r) > 0 && p.pdf.GetStringWidth(p.tr(string(r))+"...") > max {
		r = r[:len(r)*9/10]
	}
	return p.tr(string(r)) + "..."
}

func (p *PDF) End(rows int64) error {
	p.pdf.Ln(2)
	p.pdf.SetFont("Helvetica", "I", 8)
	p.pdf.CellFormat(0, 5, fmt.Sprintf("%d rows.", rows), "", 1, "L", false, 0, "")
	return p.pdf.Output(p.w)
}
