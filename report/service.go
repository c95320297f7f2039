package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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
	// Retention is how long each job's record (parameters, checkpoint,
	// file hash, who asked and when) is kept: DefaultRetention when zero,
	// and never less than MinRetention. FileLifetime is how long its file
	// is kept (default 7 days, at most Retention); a download after it
	// regenerates the file at the recorded checkpoint.
	Retention    time.Duration
	FileLifetime time.Duration
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

	regenMu sync.Mutex
	regen   map[string]*sync.Mutex // per job id: one regeneration of a file at a time
}

// Retention periods. HIPAA keeps compliance documentation six years
// (45 CFR 164.316(b)(2)); seven is what is recommended. In days, counting
// leap days: six years are at least 2192 days, seven at most 2557.
const (
	MinRetention        = 2192 * 24 * time.Hour
	DefaultRetention    = 2557 * 24 * time.Hour
	DefaultFileLifetime = 7 * 24 * time.Hour
)

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
	if cfg.Retention == 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.FileLifetime == 0 {
		cfg.FileLifetime = DefaultFileLifetime
	}
	if err := CheckRetention(cfg.Retention, cfg.FileLifetime); err != nil {
		return nil, fmt.Errorf("report: %w", err)
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
	return &Service{cfg: cfg, wake: make(chan struct{}, 1), regen: map[string]*sync.Mutex{}}, nil
}

// CheckRetention refuses a record retention shorter than six years and a
// file lifetime that is not positive or outlives its record.
func CheckRetention(retention, fileLifetime time.Duration) error {
	if retention < MinRetention {
		return fmt.Errorf("the records of reports and exports must be kept at least six years (%s, 45 CFR 164.316(b)(2)); %s is shorter", days(MinRetention), days(retention))
	}
	if fileLifetime <= 0 || fileLifetime > retention {
		return fmt.Errorf("a file's lifetime must be positive and at most its record's retention (%s); it is %s", days(retention), days(fileLifetime))
	}
	return nil
}

// days writes a duration in days when it is whole days.
func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// Prepare validates a request and fills in what the server assigns: id
// (unless set: a caller may name the job first, to record it), status, creation time, normalised parameters and format defaults. The
// caller sets Workspace, TenantScope, CreatedBy, Kind, Type (reports),
// Params and Format. Errors are vigil.Invalid naming type, params.<field>,
// format, or the export filter.
func (s *Service) Prepare(ctx context.Context, r *vigil.Report) error {
	if err := Prepare(ctx, r, s.cfg.Now(), s.cfg.OffHours); err != nil {
		return err
	}
	r.RetainUntil = r.CreatedAt.Add(s.cfg.Retention)
	return nil
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

// Open implements vigil.ReportService. A completed job's file removed
// after its lifetime is regenerated first (see regenerate).
func (s *Service) Open(ctx context.Context, r vigil.Report) (io.ReadCloser, error) {
	switch {
	case r.Status == vigil.JobFailed:
		return nil, vigil.Errorf(vigil.ENOTFOUND, "the %s failed: %s", r.Kind, r.Error)
	case r.Status != vigil.JobCompleted:
		return nil, vigil.Errorf(vigil.ENOTFOUND, "the %s is not ready yet (status %s)", r.Kind, r.Status)
	}
	if r.File != "" {
		f, err := os.Open(filepath.Join(s.cfg.Dir, filepath.Base(r.File)))
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, vigil.Unavailable("opening the "+r.Kind+" failed", err)
		}
	}
	return s.regenerate(ctx, r)
}

// regenerate writes a job's file again, at its recorded checkpoint with
// its recorded generation time, and keeps it only if it is, byte for
// byte, the file first generated (its SHA-256): a compliance report must
// be the same document whenever it is retrieved. A file that differs
// means the events below the checkpoint are not what they were, and it
// is refused (and logged) rather than served.
func (s *Service) regenerate(ctx context.Context, r vigil.Report) (io.ReadCloser, error) {
	if r.GeneratedAt.IsZero() || r.SHA256 == "" || r.CheckpointSize <= 0 {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "the %s's file was removed, and it was generated by an earlier version that did not record what regenerating it needs; request it again", r.Kind)
	}
	mu := s.regenLock(r.ID)
	mu.Lock()
	defer mu.Unlock()
	// Another request may have regenerated it while this one waited.
	if cur, err := s.cfg.Store.Report(ctx, r.Workspace, "", r.Kind, r.ID); err == nil && cur.File != "" {
		if f, err := os.Open(filepath.Join(s.cfg.Dir, filepath.Base(cur.File))); err == nil {
			return f, nil
		}
	}
	cp, err := s.cfg.Source.Checkpoint(ctx, r.Workspace, r.CheckpointSize)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		s.cfg.Logger.Error("a report's checkpoint is gone from the log", "id", r.ID, "kind", r.Kind, "tree_size", r.CheckpointSize)
		return nil, vigil.Errorf(vigil.ECONFLICT, "the log has no checkpoint of size %d, which the %s was generated at; run vigil verify", r.CheckpointSize, r.Kind)
	} else if err != nil {
		return nil, err
	}
	if cp.Root != r.CheckpointRoot {
		s.cfg.Logger.Error("a report's checkpoint no longer matches the log", "id", r.ID, "kind", r.Kind, "tree_size", r.CheckpointSize)
		return nil, vigil.Errorf(vigil.ECONFLICT, "the log's checkpoint at size %d is not the one the %s was generated at; run vigil verify", r.CheckpointSize, r.Kind)
	}
	name := r.ID + "." + r.Format
	path := filepath.Join(s.cfg.Dir, name)
	errDiffers := errors.New("the regenerated file differs")
	err = private.WriteFile(path, func(f io.Writer) error {
		h := sha256.New()
		if _, err := Generate(ctx, s.cfg.Source, r, cp, s.cfg.VerifierKey, io.MultiWriter(f, h), r.GeneratedAt); err != nil {
			return err
		}
		if hex.EncodeToString(h.Sum(nil)) != r.SHA256 {
			return errDiffers
		}
		return nil
	})
	if errors.Is(err, errDiffers) {
		s.cfg.Logger.Error("a regenerated report differs from the one first generated", "id", r.ID, "kind", r.Kind, "tree_size", r.CheckpointSize)
		return nil, vigil.Errorf(vigil.ECONFLICT, "the %s regenerated at its checkpoint (tree size %d) does not match its recorded SHA-256: the events below the checkpoint are not what they were; run vigil verify", r.Kind, r.CheckpointSize)
	}
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EINTERNAL {
			s.cfg.Logger.Error("regenerating a report failed", "id", r.ID, "kind", r.Kind, "err", err)
			return nil, vigil.Unavailable("regenerating the "+r.Kind+" failed", err)
		}
		return nil, err
	}
	if err := s.cfg.Store.RestoreReportFile(context.WithoutCancel(ctx), r.ID, name, s.fileExpiry(r, s.cfg.Now())); err != nil {
		os.Remove(path)
		return nil, err
	}
	s.cfg.Logger.Info("regenerated a removed report file", "id", r.ID, "kind", r.Kind, "tree_size", r.CheckpointSize)
	f, err := os.Open(path)
	if err != nil {
		return nil, vigil.Unavailable("opening the "+r.Kind+" failed", err)
	}
	return f, nil
}

func (s *Service) regenLock(id string) *sync.Mutex {
	s.regenMu.Lock()
	defer s.regenMu.Unlock()
	mu := s.regen[id]
	if mu == nil {
		mu = &sync.Mutex{}
		s.regen[id] = mu
	}
	return mu
}

// fileExpiry is when a file generated at t is removed: its lifetime
// later, and never after its record.
func (s *Service) fileExpiry(r vigil.Report, t time.Time) time.Time {
	exp := t.Add(s.cfg.FileLifetime)
	if !r.RetainUntil.IsZero() && r.RetainUntil.Before(exp) {
		exp = r.RetainUntil
	}
	return exp
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
	// The generation time is written into the file and kept with the
	// record, so the file can be regenerated byte for byte.
	r.GeneratedAt = vigil.Time(s.cfg.Now())
	n, size, sum, err := WriteFile(filepath.Join(s.cfg.Dir, name), func(w io.Writer) (int64, error) {
		return Generate(ctx, s.cfg.Source, *r, cp, s.cfg.VerifierKey, w, r.GeneratedAt)
	})
	if err != nil {
		r.GeneratedAt = time.Time{}
		fail(err)
		return
	}
	r.Status, r.Rows, r.File, r.FileSize, r.SHA256 = vigil.JobCompleted, n, name, size, sum
	r.FinishedAt = s.cfg.Now()
	r.ExpiresAt = s.fileExpiry(*r, r.FinishedAt)
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

// Sweep removes the files of jobs past their lifetime (their records
// stay: a download regenerates the file) and the records, with any file,
// of jobs past their retention.
func (s *Service) Sweep(ctx context.Context) {
	now := s.cfg.Now()
	if rs, err := s.cfg.Store.ExpiredReports(ctx, now); err == nil {
		for _, r := range rs {
			mu := s.regenLock(r.ID)
			mu.Lock()
			err := os.Remove(filepath.Join(s.cfg.Dir, filepath.Base(r.File)))
			if err == nil || errors.Is(err, os.ErrNotExist) {
				s.cfg.Store.ForgetReportFile(ctx, r.ID)
			}
			mu.Unlock()
			s.forgetLock(r.ID)
		}
	}
	gone, err := s.cfg.Store.PurgeReports(ctx, now)
	if err != nil {
		s.cfg.Logger.Error("removing reports past their retention failed", "err", err)
		return
	}
	for _, r := range gone {
		if r.File != "" {
			os.Remove(filepath.Join(s.cfg.Dir, filepath.Base(r.File)))
		}
		s.forgetLock(r.ID)
	}
	if len(gone) > 0 {
		s.cfg.Logger.Info("removed the records of reports and exports past their retention", "count", len(gone), "retention", days(s.cfg.Retention))
	}
}

// forgetLock drops a job's regeneration lock when no one holds it.
func (s *Service) forgetLock(id string) {
	s.regenMu.Lock()
	defer s.regenMu.Unlock()
	if mu := s.regen[id]; mu != nil && mu.TryLock() {
		delete(s.regen, id)
		mu.Unlock()
	}
}
