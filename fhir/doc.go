// Package fhir maps Vigil's events to and from FHIR R4 (4.0.1) AuditEvent
// resources, including the IHE Basic Audit Log Patterns (BALP) shape and
// the simplified AuditEvent JSON of seed 001, and parses the AuditEvent
// search parameters into store queries.
//
// It is pure: no I/O, no HTTP. The structs below are kept to the elements
// of the R4 AuditEvent and of the few resources a server answers with
// (Bundle, OperationOutcome, CapabilityStatement); an element outside them
// is refused by name rather than silently dropped.
package fhir
