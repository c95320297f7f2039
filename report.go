package vigil

import (
	"context"
	"encoding/json"
	"io"
	"iter"
	"time"
)

// Report types: the compliance reports an auditor may request.
const (
	ReportAccessByInterval = "access_by_interval" // 1. who accessed PHI in a time interval, per actor
	ReportPatientAccess    = "patient_access"     // 2. everyone who accessed one patient or record
	ReportSession          = "session"            // 3. everything accessed in one session
	ReportOffHours         = "off_hours"          // 4. off-hours access over the past week
	ReportDisclosures      = "disclosures"        // 5. accounting of disclosures for one patient
	ReportUserActivity     = "user_activity"      // 6. everything one actor did in a period
)

// ReportTypes lists the report types, in the order the issue numbers them.
var ReportTypes = []string{ReportAccessByInterval, ReportPatientAccess, ReportSession, ReportOffHours, ReportDisclosures, ReportUserActivity}

// Kinds of generated file: a report (aggregated or listed rows) or an
// export (the matching events themselves).
const (
	KindReport = "report"
	KindExport = "export"
)

// Job statuses, in the vocabulary of the Immutable SDKs' export types
// (what their callers poll for).
const (
	JobPending    = "pending"    // accepted, waiting for a worker
	JobProcessing = "processing" // a worker is generating the file
	JobCompleted  = "completed"  // the file is generated (and can be downloaded)
	JobFailed     = "failed"     // generating it failed; Error says why
)

// Report is one requested report or export and, once generated, the file
// that holds it. The file reflects the log at one signed checkpoint
// (CheckpointSize, CheckpointRoot): its rows are events below that size,
// so it can be reproduced and each row proven to be in the log.
type Report struct {
	ID          string // UUIDv7
	Workspace   string
	TenantScope string // the creator's tenant restriction; it bounds the rows and who may read the report
	CreatedBy   string // the API key id, or "cli"
	Kind        string // KindReport or KindExport
	Type        string // a Report* type; "events" for exports
	Params      json.RawMessage
	Format      string // json, csv, pdf; csv, ndjson, parquet for exports
	Status      string

	CheckpointSize int64
	CheckpointRoot Hash
	Rows           int64
	File           string // the file's name under the reports directory
	FileSize       int64
	SHA256         string
	Error          string // why a failed job failed, safe to show

	CreatedAt   time.Time
	StartedAt   time.Time
	GeneratedAt time.Time // the time written into the file; zero for files of earlier versions
	FinishedAt  time.Time
	ExpiresAt   time.Time // the file is removed after it (and regenerated when downloaded)
	RetainUntil time.Time // the record is kept until then (the retention period)
}

// Downloadable reports whether the job's file can be downloaded: it is
// there, or it can be regenerated at its checkpoint (jobs of earlier
// versions recorded no generation time, and their removed files cannot).
func (r Report) Downloadable() bool {
	return r.Status == JobCompleted && (r.File != "" || !r.GeneratedAt.IsZero())
}

// ReportStore keeps report and export jobs.
type ReportStore interface {
	CreateReport(ctx context.Context, r Report) error
	// Report returns one job of the workspace and kind; ENOTFOUND if none
	// or outside tenantScope (when set).
	Report(ctx context.Context, workspace, tenantScope, kind, id string) (Report, error)
	// Reports lists the jobs of a workspace and kind, newest first.
	Reports(ctx context.Context, workspace, tenantScope, kind string, limit int) ([]Report, error)
	// ClaimReport marks the oldest pending job processing and returns it;
	// false when none is pending.
	ClaimReport(ctx context.Context, now time.Time) (Report, bool, error)
	// FinishReport stores the outcome of a processing job.
	FinishReport(ctx context.Context, r Report) error
	// RequeueRunning puts jobs left processing (by a process that
	// stopped) back in the queue, pending, and says how many.
	RequeueRunning(ctx context.Context) (int, error)
	// ExpiredReports lists finished jobs whose file expired before now
	// and still has a file name.
	ExpiredReports(ctx context.Context, now time.Time) ([]Report, error)
	// ForgetReportFile clears a job's file name after its file was removed.
	ForgetReportFile(ctx context.Context, id string) error
	// RestoreReportFile names a job's regenerated file and when it is
	// removed again.
	RestoreReportFile(ctx context.Context, id, file string, expiresAt time.Time) error
	// PurgeReports deletes the records retained until before now and
	// returns them, for their files to be removed.
	PurgeReports(ctx context.Context, now time.Time) ([]Report, error)
}

// ScanOrder is the order ScanEvents yields events in.
type ScanOrder int

const (
	BySequence     ScanOrder = iota // sequence, ascending (time order)
	ByActorPatient                  // actor_id, then patient_id, then sequence; summary fields only (see EventScanner)
	ByOccurredAt                    // occurred_at, then sequence
)

// EventScanner streams the events matching a query, without holding them
// in memory: only events with a sequence below through (a checkpoint's
// size) are yielded, so the answer is that of one signed tree.
// q.Before and q.Limit are ignored. In ByActorPatient order, which the
// per-actor summaries use and the store must sort, events carry only
// Sequence, ID, ActorID, ActorName, Action, PatientID, Outcome,
// PurposeOfUse and OccurredAt: sorting narrow rows is several times
// cheaper than sorting whole events.
type EventScanner interface {
	ScanEvents(ctx context.Context, q Query, through int64, order ScanOrder) iter.Seq2[Event, error]
}

// ReportService accepts report and export requests and serves their files.
type ReportService interface {
	// Prepare validates a request (EINVALID naming type, params.<field>,
	// format or a filter) and fills in what the server assigns: its id
	// (unless set), status pending, creation time, normalised parameters.
	Prepare(ctx context.Context, r *Report) error
	// Queue stores a prepared job for the workers.
	Queue(ctx context.Context, r Report) error
	Report(ctx context.Context, workspace, tenantScope, kind, id string) (Report, error)
	Reports(ctx context.Context, workspace, tenantScope, kind string, limit int) ([]Report, error)
	// Open opens the generated file of a completed job, regenerating it
	// at its checkpoint (and checking it against its recorded SHA-256) if
	// it was removed; ENOTFOUND when it is not ready.
	Open(ctx context.Context, r Report) (io.ReadCloser, error)
}

// InclusionProver proves leaves' inclusion in a tree.
type InclusionProver interface {
	InclusionProof(ctx context.Context, workspace string, sequence, treeSize int64) (InclusionProof, error)
}

// BatchProver is a store that proves many leaves against one tree size
// faster than one InclusionProof call each (consecutive leaves share most
// of their proofs); exports use it when the store offers it.
type BatchProver interface {
	InclusionProver(ctx context.Context, workspace string, treeSize int64) (InclusionProver, error)
}
