// Package anchor sends each workspace's signed checkpoints to witnesses
// outside Vigil and keeps their evidence, so that whoever holds the
// ledger's signing key still cannot rewrite history unseen: RFC 3161
// time-stamp authorities (the token proves the root existed at a time)
// and C2SP tlog-witness cosigners (the cosignature proves a witness saw
// the root and checked it extends every root it saw before). It also
// verifies that evidence, online for the API and offline for bundles.
package anchor
