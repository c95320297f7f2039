-- Idempotency keys are scoped to (workspace, tenant): two tenants may use
-- one key, and neither learns of the other's event. An absent tenant is
-- stored as NULL, which a unique index would take as distinct from every
-- other NULL; ifnull makes "no tenant" one scope of its own ('' is never
-- stored: an empty tenant is NULL).
DROP INDEX events_idempotency;
CREATE UNIQUE INDEX events_idempotency ON events (ws, ifnull(tenant_id, ''), idempotency_key) WHERE idempotency_key IS NOT NULL;

-- ip_from_connection: 1 when ip_address is the address the event arrived
-- from (the client sent none), 0 when the client sent it or there is
-- none, NULL for events stored before this was kept. A reused key is
-- compared on what the client sent (ledger.AppendContent), so the
-- server's default must be told apart from the client's own value.
ALTER TABLE events ADD COLUMN ip_from_connection INTEGER CHECK (ip_from_connection IN (0, 1));
