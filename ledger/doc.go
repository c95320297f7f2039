// Package ledger holds the pure functions of Vigil's tamper-evident log:
// the canonical form of an event (RFC 8785), leaf and tree hashing (RFC
// 6962, through golang.org/x/mod/sumdb/tlog), signed checkpoints (C2SP
// tlog-checkpoint as golang.org/x/mod/sumdb/note signed notes), and the
// offline bundle with its verifier. Nothing here does I/O beyond the
// readers and writers it is given; docs/ledger.md specifies every format.
package ledger
