package report

import (
	"bufio"
	"encoding/json"
	"io"
	"time"
)

// JSON renders a report as one JSON object, written as rows come:
//
//	{"report":{"id","type","title","params","workspace","tenant_scope","generated_at",
//	           "checkpoint":{"origin","tree_size","root_hash","note"}},
//	 "columns":[...],"rows":[{column: value, ...}, ...],"row_count":n}
type JSON struct {
	w    *bufio.Writer
	cols []Column
	n    int64
	obj  map[string]any
}

// NewJSON returns a JSON sink writing to w.
func NewJSON(w io.Writer) *JSON { return &JSON{w: bufio.NewWriterSize(w, 1<<16)} }

type jsonCheckpoint struct {
	Origin   string `json:"origin"`
	TreeSize int64  `json:"tree_size"`
	RootHash string `json:"root_hash"`
	Note     string `json:"note,omitempty"`
}

type jsonMeta struct {
	ID          string          `json:"id,omitempty"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Params      json.RawMessage `json:"params"`
	Workspace   string          `json:"workspace"`
	TenantScope *string         `json:"tenant_scope"`
	GeneratedAt string          `json:"generated_at"`
	Checkpoint  jsonCheckpoint  `json:"checkpoint"`
}

func (j *JSON) Begin(m Meta) error {
	j.cols = m.Columns
	meta := jsonMeta{ID: m.ID, Type: m.Type, Title: m.Title, Params: m.Params, Workspace: m.Workspace,
		GeneratedAt: m.GeneratedAt.UTC().Format(time.RFC3339Nano),
		Checkpoint:  jsonCheckpoint{Origin: m.Checkpoint.Origin, TreeSize: m.Checkpoint.Size, RootHash: m.Checkpoint.Root.String(), Note: string(m.Checkpoint.Note)}}
	if m.TenantScope != "" {
		meta.TenantScope = &m.TenantScope
	}
	names := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		names[i] = c.Name
	}
	b, err := json.Marshal(struct {
		Report  jsonMeta `json:"report"`
		Columns []string `json:"columns"`
	}{meta, names})
	if err != nil {
		return err
	}
	j.w.Write(b[:len(b)-1]) // the object stays open for the rows
	_, err = j.w.WriteString(`,"rows":[`)
	j.obj = make(map[string]any, len(m.Columns))
	return err
}

func (j *JSON) Row(cells []any) error {
	for i, c := range cells {
		var v any = c
		if t, ok := c.(time.Time); ok {
			v = formatCell(t)
			if t.IsZero() {
				v = nil
			}
		}
		if s, ok := c.(string); ok && s == "" {
			v = nil
		}
		j.obj[j.cols[i].Name] = v
	}
	b, err := json.Marshal(j.obj)
	if err != nil {
		return err
	}
	if j.n > 0 {
		j.w.WriteByte(',')
	}
	j.n++
	_, err = j.w.Write(append(b, '\n'))
	return err
}

func (j *JSON) End(rows int64) error {
	j.w.WriteString(`],"row_count":` + itoa(rows) + "}\n")
	return j.w.Flush()
}
