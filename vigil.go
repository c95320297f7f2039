// Package vigil holds the domain of a tamper-evident audit trail for access
// to protected health information: the event model, the interfaces of the
// stores and the ledger, and the error type every layer speaks.
//
// It imports nothing of the project; every other package depends on it.
package vigil
