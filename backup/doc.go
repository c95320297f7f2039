// Package backup copies a Vigil data directory off the machine and
// rebuilds one from the copy: the log (vigil.LogStorage), read as
// append-only chunks so each backup uploads only what is new, a consistent
// snapshot of the state database, and the few key files, all encrypted
// with the backup key before they leave, under a manifest signed with the
// ledger's note key that names every object by its SHA-256 and the signed
// checkpoint of each workspace it covers. Restore refuses a backup whose
// manifest, chunk or tree does not verify, and says exactly which events
// a known later checkpoint proves were lost.
//
// Destinations are a directory or S3-compatible object storage (Store),
// where every object is written once and, when the bucket has Object Lock,
// kept in COMPLIANCE mode for the retention period. The package knows
// nothing of the engine: it takes the log, a checkpoint source and a state
// snapshot function (Source). docs/backup.md describes the format.
package backup
