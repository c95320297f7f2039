package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/internal/private"
)

// Config configures a Service.
type Config struct {
	Store  vigil.ReportStore
	Source Source
	// Dir holds the generated files (<data>/reports); it is created 0700.
	Dir string
	// VerifierKey is named in NDJSON exports, for verifiers without one.
	VerifierKey string
	// Workers bounds how many jobs run at once (default 1): reports run
	// beside ingest and must not crowd it out.
	Workers int
	// Share is the fraction of one core's time a job may take (default
	// 0.25; 1 means unpaced): see Paced.
	Share float64
	// Retention is how long a generated file is kept (default 7 days).
	Retention time.Duration
	// OffHours, when set, gives the workspace's configured off_hours
	// rule, used by the off-hours report when the request gives none.
	OffHours OffHoursSource
	// Poll is how often idle workers look for jobs queued elsewhere (by
	// another process on the same data directory); default 1s.
	Poll   time.Duration
	Now    func() time.Time
	Logger *slog.Logger
}

// Service queues report and export jobs, runs them in the background and
// serves their files. It implements vigil.ReportService.
type Service struct {
	cfg  Config
	wake chan struct{}
}

var _ vigil.ReportService = (*Service)(nil)

// New returns a service; Run starts its workers.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Source == nil || cfg.Dir == "" {
		return nil, errors.New("report: Store, Source and Dir are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.Share <= 0 {
		cfg.Share = 0.25
	}
	cfg.Source = Paced(cfg.Source, cfg.Share)
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := privateDir(cfg.Dir, cfg.Logger); err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, wake: make(chan struct{}, 1)}, nil
}

// Prepare validates a request and fills in what the server assigns: id
// (unless set: a caller may name the job first, to record it), status, creation time, normalised parameters and format defaults. The
// caller sets Workspace, TenantScope, CreatedBy, Kind, Type (reports),
// Params and Format. Errors are vigil.Invalid naming type, params.<field>,
// format, or the export filter.
func (s *Service) Prepare(ctx context.Context, r *vigil.Report) error {
	return Prepare(ctx, r, s.cfg.Now(), s.cfg.OffHours)
}

// Prepare is Service.Prepare without a service, for offline use.
func Prepare(ctx context.Context, r *vigil.Report, now time.Time, src OffHoursSource) error {
	now = vigil.Time(now)
	var details []vigil.ErrorDetail
	switch r.Kind {
	case vigil.KindReport:
		if r.Format == "" {
			r.Format = FormatJSON
		}
		if !slices.Contains(ReportFormats, r.Format) {
			details = append(details, vigil.ErrorDetail{Field: "format", Message: "must be one of " + strings.Join(ReportFormats, ", ")})
		}
		p, err := ParseParams(ctx, r.Type, r.Params, r.Workspace, now, src)
		if err != nil {
			if vigil.ErrorCode(err) != vigil.EINVALID {
				return err
			}
			details = append(details, vigil.ErrorDetails(err)...)
		} else {
			r.Params = p.JSON(r.Type)
		}
	case vigil.KindExport:
		r.Type = "events"
		if r.Format == "" {
			r.Format = FormatCSV
		}
		if !slices.Contains(ExportFormats, r.Format) {
			details = append(details, vigil.ErrorDetail{Field: "format", Message: "must be one of " + strings.Join(ExportFormats, ", ")})
		}
		var f Filters
		if len(r.Params) > 0 {
			if err := json.Unmarshal(r.Params, &f); err != nil {
				return vigil.Invalid(vigil.ErrorDetail{Field: "filters", Message: "must be an object of strings"})
			}
		}
		if _, err := f.Query(r.Workspace, r.TenantScope); err != nil {
			details = append(details, vigil.ErrorDetails(err)...)
		}
		r.Params, _ = json.Marshal(f)
	default:
		return errors.New("report: unknown kind " + r.Kind)
	}
	if len(details) > 0 {
		return vigil.Invalid(details...)
	}
	if r.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		r.ID = id.String()
	}
	r.Status, r.CreatedAt = vigil.JobPending, now
	return nil
}

// Submit prepares and queues a request.
func (s *Service) Submit(ctx context.Context, r vigil.Report) (vigil.Report, error) {
	if err := s.Prepare(ctx, &r); err != nil {
		return r, err
	}
	return r, s.Queue(ctx, r)
}

// Queue implements vigil.ReportService.
func (s *Service) Queue(ctx context.Context, r vigil.Report) error {
	if err := s.cfg.Store.CreateReport(ctx, r); err != nil {
		return err
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

// Report implements vigil.ReportService.
func (s *Service) Report(ctx context.Context, workspace, tenantScope, kind, id string) (vigil.Report, error) {
	return s.cfg.Store.Report(ctx, workspace, tenantScope, kind, id)
}

// Reports implements vigil.ReportService.
func (s *Service) Reports(ctx context.Context, workspace, tenantScope, kind string, limit int) ([]vigil.Report, error) {
	return s.cfg.Store.Reports(ctx, workspace, tenantScope, kind, limit)
}

// Open implements vigil.ReportService.
func (s *Service) Open(ctx context.Context, r vigil.Report) (io.ReadCloser, error) {
	switch {
	case r.Status == vigil.JobFailed:
		return nil, vigil.Errorf(vigil.ENOTFOUND, "the %s failed: %s", r.Kind, r.Error)
	case r.Status != vigil.JobCompleted:
		return nil, vigil.Errorf(vigil.ENOTFOUND, "the %s is not ready yet (status %s)", r.Kind, r.Status)
	case r.File == "" || !s.cfg.Now().Before(r.ExpiresAt):
		return nil, vigil.Errorf(vigil.ENOTFOUND, "the %s expired at %s and its file was removed", r.Kind, r.ExpiresAt.Format(time.RFC3339))
	}
	f, err := os.Open(filepath.Join(s.cfg.Dir, filepath.Base(r.File)))
	if err != nil {
		return nil, vigil.Unavailable("opening the "+r.Kind+" failed", err)
	}
	return f, nil
}

// Run puts jobs a stopped process left running back in the queue, then
// runs queued jobs with cfg.Workers workers and removes expired files,
// until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if n, err := s.cfg.Store.RequeueRunning(ctx); err != nil {
		return err
	} else if n > 0 {
		s.cfg.Logger.Info("re-running report jobs interrupted by a stop", "jobs", n)
	}
	s.removeTemp()
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Go(func() { s.work(ctx) })
	}
	wg.Go(func() { s.sweep(ctx) })
	wg.Wait()
	return nil
}

func (s *Service) work(ctx context.Context) {
	t := time.NewTicker(s.cfg.Poll)
	defer t.Stop()
	for ctx.Err() == nil {
		ran, err := s.RunOne(ctx)
		if err != nil {
			s.cfg.Logger.Error("report worker", "err", err)
		}
		if ran && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wake:
		case <-t.C:
		}
	}
}

// RunOne runs the oldest queued job, if any, and reports whether it ran
// one. A job's own failure is stored with it, not returned.
func (s *Service) RunOne(ctx context.Context) (bool, error) {
	r, ok, err := s.cfg.Store.ClaimReport(ctx, s.cfg.Now())
	if err != nil || !ok {
		return false, err
	}
	s.execute(ctx, &r)
	if ctx.Err() != nil {
		// Stopping: the job stays running and is re-run at the next start.
		return true, ctx.Err()
	}
	return true, s.cfg.Store.FinishReport(context.WithoutCancel(ctx), r)
}

func (s *Service) execute(ctx context.Context, r *vigil.Report) {
	fail := func(err error) {
		r.Status, r.File = vigil.JobFailed, ""
		r.Error = vigil.ErrorMessage(err)
		if code := vigil.ErrorCode(err); code == vigil.EINTERNAL || code == vigil.EUNAVAILABLE {
			r.Error = "generating the " + r.Kind + " failed; it can be requested again"
			s.cfg.Logger.Error("report failed", "id", r.ID, "kind", r.Kind, "type", r.Type, "err", err)
		}
		r.FinishedAt = s.cfg.Now()
	}
	cp, err := Latest(ctx, s.cfg.Source, r.Workspace)
	if err != nil {
		fail(err)
		return
	}
	r.CheckpointSize, r.CheckpointRoot = cp.Size, cp.Root
	name := r.ID + "." + r.Format
	n, size, sum, err := WriteFile(filepath.Join(s.cfg.Dir, name), func(w io.Writer) (int64, error) {
		return Generate(ctx, s.cfg.Source, *r, cp, s.cfg.VerifierKey, w, s.cfg.Now())
	})
	if err != nil {
		fail(err)
		return
	}
	r.Status, r.Rows, r.File, r.FileSize, r.SHA256 = vigil.JobCompleted, n, name, size, sum
	r.FinishedAt = s.cfg.Now()
	r.ExpiresAt = r.FinishedAt.Add(s.cfg.Retention)
}

// WriteFile writes a file durably and privately (private.WriteFile) and
// returns gen's count, the size and the SHA-256 of what was written.
func WriteFile(path string, gen func(io.Writer) (int64, error)) (n, size int64, sum string, err error) {
	h := sha256.New()
	var cw *countWriter
	err = private.WriteFile(path, func(f io.Writer) error {
		cw = &countWriter{w: io.MultiWriter(f, h)}
		var err error
		n, err = gen(cw)
		return err
	})
	if err != nil {
		return 0, 0, "", err
	}
	return n, cw.n, hex.EncodeToString(h.Sum(nil)), nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// privateDir creates the directory of reports and exports private, or
// makes it and every file in it private (0700, 0600) when an older
// version or a hand-made directory left them open to other users.
func privateDir(dir string, logger *slog.Logger) error {
	was, err := private.Dir(dir)
	if err != nil {
		return err
	}
	if was != 0 {
		logger.Warn("made the reports directory private: it was open to other users", "path", dir, "was", fmt.Sprintf("%04o", was))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		was, err := private.Tighten(p)
		if err != nil {
			return err
		}
		if was != 0 {
			logger.Warn("made a report file private: it was open to other users", "path", p, "was", fmt.Sprintf("%04o", was))
		}
	}
	return nil
}

// removeTemp removes what a stop left half-written.
func (s *Service) removeTemp() {
	names, _ := filepath.Glob(filepath.Join(s.cfg.Dir, ".*.tmp"))
	for _, n := range names {
		os.Remove(n)
	}
}

// sweep removes expired files, once a minute.
func (s *Service) sweep(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep removes the files of jobs that expired.
func (s *Service) Sweep(ctx context.Context) {
	rs, err := s.cfg.Store.ExpiredReports(ctx, s.cfg.Now())
	if err != nil {
		return
	}
	for _, r := range rs {
		err := os.Remove(filepath.Join(s.cfg.Dir, filepath.Base(r.File)))
		if err == nil || errors.Is(err, os.ErrNotExist) {
			s.cfg.Store.ForgetReportFile(ctx, r.ID)
		}
	}
}
