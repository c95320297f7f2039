package http

import (
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil"
)

// IntegrityHeader is on every read of the trail: "ok" while no
// verification has found a break in the workspace's log, else
// "broken; breaks=N", so a client reading the trail knows what it reads.
const IntegrityHeader = "Vigil-Integrity"

// integrityHeader sets IntegrityHeader for a read of workspace.
func (s *Server) integrityHeader(w http.ResponseWriter, workspace string) {
	v := "ok"
	if b := s.store.FoundBreaks()[workspace]; b.Breaks > 0 {
		v = "broken; breaks=" + strconv.FormatInt(b.Breaks, 10)
	}
	w.Header().Set(IntegrityHeader, v)
}

// breaksCollector exports the recorded breaks as vigil_ledger_breaks, by
// type over every workspace (workspace names stay out of the open
// /metrics). Every type has a series from the start, so an alert on
// sum(vigil_ledger_breaks) > 0 works before the first break.
type breaksCollector struct{ store vigil.Findings }

var breaksDesc = prometheus.NewDesc("vigil_ledger_breaks",
	"Breaks verification has found and recorded in the ledger, by type; never decreases.", []string{"type"}, nil)

func (c breaksCollector) Describe(ch chan<- *prometheus.Desc) { ch <- breaksDesc }

func (c breaksCollector) Collect(ch chan<- prometheus.Metric) {
	types := map[string]int64{}
	for _, b := range c.store.FoundBreaks() {
		for t, n := range b.Types {
			types[t] += n
		}
	}
	for _, t := range vigil.BreakTypes {
		ch <- prometheus.MustNewConstMetric(breaksDesc, prometheus.GaugeValue, float64(types[t]), t)
	}
}
