package api

import "encoding/json"

// ReportInput is the body of POST /api/v1/reports.
type ReportInput struct {
	Type   string          `json:"type"`
	Params json.RawMessage `json:"params,omitempty"`
	Format string          `json:"format,omitempty"` // json (default), csv, pdf
}

// ExportInput is the body of POST /api/v1/exports: Immutable's export
// filters and the format.
type ExportInput struct {
	From      string `json:"from,omitempty"`
	To        string `json:"to,omitempty"`
	ActorID   string `json:"actor_id,omitempty"`
	Action    string `json:"action,omitempty"`
	Resource  string `json:"resource,omitempty"`
	TenantID  string `json:"tenant_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
	Search    string `json:"search,omitempty"`
	Format    string `json:"format,omitempty"` // csv (default), ndjson, parquet
}

// Accepted answers a report or export accepted for generation (status
// pending).
type Accepted struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

// ReportCheckpoint names the signed checkpoint a report or export
// reflects.
type ReportCheckpoint struct {
	TreeSize int64  `json:"tree_size"`
	RootHash string `json:"root_hash"`
}

// Report is a report job's status and record: its parameters, the
// checkpoint it reflects, its file's SHA-256, the key that asked for it
// (requested_by) and when (created_at). The record is kept until
// retain_until; the file until expires_at, after which a download
// regenerates it.
type Report struct {
	ID           string            `json:"id"`
	Type         string            `json:"type"`
	Params       json.RawMessage   `json:"params"`
	Format       string            `json:"format"`
	Status       string            `json:"status"`
	TenantScope  *string           `json:"tenant_scope"`
	Checkpoint   *ReportCheckpoint `json:"checkpoint"`
	RowCount     *int64            `json:"row_count"`
	FileSize     *int64            `json:"file_size"`
	SHA256       *string           `json:"sha256"`
	DownloadURL  *string           `json:"download_url"`
	ErrorMessage *string           `json:"error_message"`
	RequestedBy  string            `json:"requested_by"`
	CreatedAt    string            `json:"created_at"`
	GeneratedAt  *string           `json:"generated_at"`
	FinishedAt   *string           `json:"finished_at"`
	ExpiresAt    *string           `json:"expires_at"`
	RetainUntil  *string           `json:"retain_until"`
}

// Export is an export job's status, in Immutable's shape plus its record
// (as Report's).
type Export struct {
	ID           string            `json:"id"`
	Status       string            `json:"status"`
	Format       string            `json:"format"`
	Filters      json.RawMessage   `json:"filters"`
	TotalRows    *int64            `json:"total_rows"`
	FileSize     *int64            `json:"file_size"`
	SHA256       *string           `json:"sha256"`
	Checkpoint   *ReportCheckpoint `json:"checkpoint"`
	DownloadURL  *string           `json:"download_url"`
	ErrorMessage *string           `json:"error_message"`
	RequestedBy  string            `json:"requested_by"`
	CreatedAt    string            `json:"created_at"`
	GeneratedAt  *string           `json:"generated_at"`
	FinishedAt   *string           `json:"finished_at"`
	ExpiresAt    *string           `json:"expires_at"`
	RetainUntil  *string           `json:"retain_until"`
}

// ReportList answers GET /api/v1/reports and GET /api/v1/exports.
type ReportList[T any] struct {
	Data []T `json:"data"`
}
