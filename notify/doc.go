// Package notify delivers alerts: by email over SMTP and by signed webhook.
//
// Senders are Channels: they deliver one alert per call and keep no queue.
// Durability (an alert is never lost across a restart and never delivered
// as two different alerts) is the caller's outbox, which retries with
// Policy and stops on Permanent errors. Each delivery of one alert carries
// the alert's id (the webhook body's "id", the email's Message-ID), so a
// receiver can drop a repeat that a crash between delivery and the
// outbox's bookkeeping causes.
//
// What leaves the system is ids and the rule's reason, never names,
// metadata or other PHI (package alert writes reasons that way), and
// credentials are never printed or logged: they are Secrets.
package notify
