package console

import (
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

// The dashboard's charts are SVG drawn here, on the server: no chart
// library, no script, and each comes with its numbers as a table for
// screen readers. They count accesses to PHI, events that name a patient
// (as report 1 does), so the system's own records do not drown them.

// maxChartEvents bounds the events one dashboard scans.
const maxChartEvents = 200000

type dashboardData struct {
	Filters   []field
	From, To  time.Time
	Scanned   int
	Truncated bool
	Days      []bar
	Actors    []bar
	PerDay    template.HTML
	PerActor  template.HTML
	Heat      template.HTML
	HeatRows  [][]int // [weekday][hour]
	Weekdays  []string
	Query     url.Values
}

type bar struct {
	Label string
	Count int
}

var dashboardFilters = []field{
	{Name: "from", Label: "From", Type: "datetime"}, {Name: "to", Label: "To (exclusive)", Type: "datetime"},
	{Name: "actor_id", Label: "Actor ID"}, {Name: "action", Label: "Action"}, {Name: "patient_id", Label: "Patient ID"},
	{Name: "resource", Label: "Resource type"}, {Name: "resource_id", Label: "Resource ID"}, {Name: "tenant_id", Label: "Tenant ID"},
	{Name: "session_id", Label: "Session ID"}, {Name: "target_type", Label: "Target type"}, {Name: "target_id", Label: "Target ID"},
	{Name: "search", Label: "Search"},
	{Name: "outcome", Label: "Outcome", Options: []string{"", "success", "minor_failure", "failure", "serious_failure"}},
	{Name: "purpose_of_use", Label: "Purpose of use"},
}

func (c *Console) dashboard(w http.ResponseWriter, r *http.Request, p *principal) error {
	v := filled(r.URL.Query())
	d := dashboardData{Filters: withValues(dashboardFilters, v), Query: v,
		Weekdays: []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}}
	q, _, err := vhttp.ParseEventQuery(v)
	if err == nil && (v.Has("cursor") || v.Has("limit")) {
		err = vigil.Invalid(vigil.ErrorDetail{Field: "cursor", Message: "the dashboard takes no paging"})
	}
	if err != nil {
		pd := c.page(p, "Dashboard", "dashboard", d)
		pd.Error = vigil.ErrorMessage(err)
		c.pages.render(w, http.StatusUnprocessableEntity, "dashboard", pd)
		return nil
	}
	now := c.cfg.Now().UTC()
	if q.To.IsZero() {
		q.To = now.Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-30 * 24 * time.Hour)
	}
	q.Workspace = c.cfg.Workspace
	d.From, d.To = q.From, q.To
	perDay := map[string]int{}
	perActor := map[string]int{}
	heat := make([][]int, 7)
	for i := range heat {
		heat[i] = make([]int, 24)
	}
	err = c.audited(r, p, actionEventsQuery, mergeParams(flat(v), "view", "dashboard"), func() error {
		for e, err := range c.cfg.Scanner.ScanEvents(r.Context(), q, math.MaxInt64, vigil.BySequence) {
			if err != nil {
				return err
			}
			if e.PatientID == "" {
				continue
			}
			if d.Scanned == maxChartEvents {
				d.Truncated = true
				break
			}
			d.Scanned++
			t := e.OccurredAt.UTC()
			perDay[t.Format("2006-01-02")]++
			perActor[e.ActorID]++
			heat[(int(t.Weekday())+6)%7][t.Hour()]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	for day := q.From.Truncate(24 * time.Hour); day.Before(q.To) && len(d.Days) < 400; day = day.Add(24 * time.Hour) {
		k := day.Format("2006-01-02")
		d.Days = append(d.Days, bar{k, perDay[k]})
	}
	for a, n := range perActor {
		d.Actors = append(d.Actors, bar{a, n})
	}
	sort.Slice(d.Actors, func(i, j int) bool {
		if d.Actors[i].Count != d.Actors[j].Count {
			return d.Actors[i].Count > d.Actors[j].Count
		}
		return d.Actors[i].Label < d.Actors[j].Label
	})
	if len(d.Actors) > 10 {
		d.Actors = d.Actors[:10]
	}
	d.HeatRows = heat
	d.PerDay = columnChart("per-day", "Accesses per day (UTC)", d.Days)
	d.PerActor = barChart("per-actor", "Accesses by actor (top 10)", d.Actors)
	d.Heat = heatMap("heat", "Accesses by weekday and hour (UTC); off-hours are outside 08:00–18:00 on weekdays", heat, d.Weekdays)
	c.pages.render(w, http.StatusOK, "dashboard", c.page(p, "Dashboard", "dashboard", d))
	return nil
}

func maxCount(bars []bar) int {
	m := 1
	for _, b := range bars {
		m = max(m, b.Count)
	}
	return m
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// columnChart draws one column per bar, labelled every few columns.
func columnChart(id, title string, bars []bar) template.HTML {
	const width, height, left, bottom = 720, 220, 40, 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`, width, height, id, id, esc(title))
	m := maxCount(bars)
	n := max(len(bars), 1)
	step := float64(width-left-10) / float64(n)
	plot := float64(height - bottom - 10)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#4a4a4a"/>`, left, height-bottom, width-10, height-bottom)
	fmt.Fprintf(&b, `<text x="%d" y="16" font-size="12" fill="#333">%d</text>`, 4, m)
	for i, bar := range bars {
		h := plot * float64(bar.Count) / float64(m)
		x := float64(left) + float64(i)*step
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#1f5fa8"><title>%s: %d</title></rect>`,
			x+1, float64(height-bottom)-h, math.Max(step-2, 1), h, esc(bar.Label), bar.Count)
		if i%max(1, n/6) == 0 {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="11" fill="#333">%s</text>`, x, height-bottom+16, esc(bar.Label[5:]))
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// barChart draws one horizontal bar per entry.
func barChart(id, title string, bars []bar) template.HTML {
	const width, row, left = 720, 24, 200
	height := max(len(bars), 1)*row + 10
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`, width, height, id, id, esc(title))
	m := maxCount(bars)
	for i, bar := range bars {
		y := i*row + 5
		w := float64(width-left-60) * float64(bar.Count) / float64(m)
		label := bar.Label
		if len(label) > 28 {
			label = label[:27] + "…"
		}
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12" fill="#222">%s</text>`, y+15, esc(label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="#1f5fa8"/>`, left, y+2, w, row-6)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-size="12" fill="#222">%d</text>`, float64(left)+w+6, y+15, bar.Count)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// heatMap draws weekdays by hours, darker for more accesses, with the
// off-hours cells outlined.
func heatMap(id, title string, heat [][]int, days []string) template.HTML {
	const cell, left, top = 26, 44, 20
	width, height := left+24*cell+4, top+7*cell+4
	m := 1
	for _, row := range heat {
		for _, n := range row {
			m = max(m, n)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" viewBox="0 0 %d %d" role="img" aria-labelledby="%s-t"><title id="%s-t">%s</title>`, width, height, id, id, esc(title))
	for h := 0; h < 24; h += 3 {
		fmt.Fprintf(&b, `<text x="%d" y="14" font-size="11" fill="#333">%02d</text>`, left+h*cell+4, h)
	}
	for d, row := range heat {
		fmt.Fprintf(&b, `<text x="0" y="%d" font-size="12" fill="#222">%s</text>`, top+d*cell+17, days[d])
		for h, n := range row {
			// From white to the chart blue, by share of the busiest cell.
			f := float64(n) / float64(m)
			r, g, bl := 255-int(f*(255-31)), 255-int(f*(255-95)), 255-int(f*(255-168))
			stroke := "#d0d0d0"
			if d >= 5 || h < 8 || h >= 18 {
				stroke = "#b3261e"
			}
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="rgb(%d,%d,%d)" stroke="%s"><title>%s %02d:00: %d</title></rect>`,
				left+h*cell, top+d*cell, cell-2, cell-2, r, g, bl, stroke, days[d], h, n)
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
