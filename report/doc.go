// Package report computes Vigil's compliance reports and exports as
// streaming passes over the store, renders them (JSON, CSV, PDF; CSV,
// NDJSON, Parquet for exports) and runs the requested jobs in the
// background with bounded concurrency.
//
// Every report and export is computed at one signed checkpoint: only
// events below its size are read, and the checkpoint's size and root are
// stored with the job and printed in the file, so a report can be
// reproduced and each of its rows proven to be in the log.
package report
