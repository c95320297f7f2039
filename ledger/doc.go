// Package ledger holds the pure functions of Vigil's tamper-evident log, in
// the style of golang.org/x/mod/sumdb/tlog: no I/O beyond the readers and
// writers it is given, typed errors, and test vectors in testdata.
//
//   - Canonicalize: RFC 8785 (JCS) canonical JSON, refusing what has no
//     faithful canonical form.
//   - AppendEvent, ParseEvent, LeafHash: the version 1 leaf of an event
//     and its RFC 6962 leaf hash.
//   - Frontier, SubtreesOutside: the Merkle tree as leaves stream past, in
//     tlog's layout; tlog does all the hashing and proving.
//   - FormatCheckpoint, Sign, Open: C2SP tlog-checkpoint bodies signed as
//     golang.org/x/mod/sumdb/note notes (Ed25519).
//   - CheckInclusion, CheckConsistency: RFC 6962 proofs, through tlog.
//   - WriteBundle, ReadBundle, VerifyBundle: the offline bundle, which a
//     verifier checks with no server and no database.
//
// docs/ledger.md specifies every format exactly enough for an independent
// implementation.
package ledger
