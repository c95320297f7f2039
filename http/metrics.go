package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil"
)

type metrics struct {
	requests    *prometheus.CounterVec
	ingest      prometheus.Histogram
	batchSizes  prometheus.Histogram
	storeErrors *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_http_requests_total", Help: "HTTP requests by route and status.",
		}, []string{"route", "code"}),
		ingest: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_ingest_duration_seconds", Help: "Time from decoded request to durable acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		batchSizes: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "vigil_commit_batch_events", Help: "Events per group commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigil_store_errors_total", Help: "Store operations that failed, by error code.",
		}, []string{"code"}),
	}
	reg.MustRegister(m.requests, m.ingest, m.batchSizes, m.storeErrors)
	// Zero series from the start, so an alert on a rise works before the
	// first error.
	m.storeErrors.WithLabelValues(vigil.EUNAVAILABLE)
	m.storeErrors.WithLabelValues(vigil.EINTERNAL)
	return m
}

// ObserveCommit records the size of one group commit; the store calls it.
func (s *Server) ObserveCommit(events int) { s.metrics.batchSizes.Observe(float64(events)) }

func (m *metrics) observeIngest(start time.Time, n int, err error) {
	if err != nil {
		if code := vigil.ErrorCode(err); code == vigil.EUNAVAILABLE || code == vigil.EINTERNAL {
			m.storeErrors.WithLabelValues(code).Inc()
		}
		return
	}
	m.ingest.Observe(time.Since(start).Seconds())
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// instrument counts requests by route pattern (never by raw path, which
// would carry ids into metric labels).
func (s *Server) instrument(route string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		s.metrics.requests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
	})
}
