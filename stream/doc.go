// Package stream delivers every event of every workspace, at least once,
// to destinations outside Vigil: a syslog server (RFC 5424 messages over
// TLS, RFC 5425 framing, the FHIR AuditEvent as the message, as IHE ATNA
// expects) or an HTTPS endpoint taking NDJSON (a plain webhook or a Splunk
// HTTP Event Collector). Each destination follows the log from a durable
// cursor, moved only after the destination took the events, so a crash
// or an outage sends some events again and skips none.
package stream
