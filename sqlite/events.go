package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
)

const eventColumns = `e.seq, e.id, e.created_at, e.occurred_at, e.actor_id, e.actor_name, e.actor_type,
	e.action, e.action_category, e.resource, e.resource_id, e.resource_name, e.targets, e.metadata,
	e.tenant_id, e.session_id, e.idempotency_key, e.version, e.outcome, e.patient_id, e.purpose_of_use,
	e.ip_address, e.user_agent, e.source, e.ip_country, e.ip_city, e.ip_region, e.ip_from_connection,
	e.key_id, e.commitments, e.sealed`

type scanner interface{ Scan(dest ...any) error }

func (db *DB) scanEvent(s scanner, workspace string) (vigil.Event, error) {
	e, _, err := db.scanEventOrigin(s, workspace)
	return e, err
}

// scanEventOrigin is scanEvent that also reports whether the origin of
// the event's address is known: events stored before ip_from_connection
// was kept do not say whether their address was the client's.
//
// A sealed event's row is decrypted (openSealed).
func (db *DB) scanEventOrigin(s scanner, workspace string) (vigil.Event, bool, error) {
	return db.scanRow(s, workspace, true)
}

// scanLeaf is scanEvent for what only needs an event's leaf (verification,
// bundles): a sealed event keeps its seal and is not decrypted, so the
// ledger verifies without the keys, and an altered sealed column is found
// by what reads the event rather than stopping the verification.
func (db *DB) scanLeaf(s scanner, workspace string) (vigil.Event, error) {
	e, _, err := db.scanRow(s, workspace, false)
	return e, err
}

func (db *DB) scanRow(s scanner, workspace string, open bool) (vigil.Event, bool, error) {
	var e vigil.Event
	var created, occurred int64
	var actorName, actorType, category, resource, resourceID, resourceName, targets, metadata,
		tenant, session, idem, version, patient, purpose, ip, ua, source, country, city, region sql.NullString
	var outcome string
	var fromConn sql.NullInt64
	var keyID sql.NullString
	var commitments, sealed []byte
	err := s.Scan(&e.Sequence, &e.ID, &created, &occurred, &e.ActorID, &actorName, &actorType,
		&e.Action, &category, &resource, &resourceID, &resourceName, &targets, &metadata,
		&tenant, &session, &idem, &version, &outcome, &patient, &purpose,
		&ip, &ua, &source, &country, &city, &region, &fromConn, &keyID, &commitments, &sealed)
	if err != nil {
		return e, false, err
	}
	e.IPFromConnection = fromConn.Int64 == 1
	e.Workspace = workspace
	e.CreatedAt = time.Unix(0, created).UTC()
	e.OccurredAt = time.Unix(0, occurred).UTC()
	e.ActorName, e.ActorType = actorName.String, actorType.String
	e.ActionCategory = category.String
	e.Resource, e.ResourceID, e.ResourceName = resource.String, resourceID.String, resourceName.String
	if metadata.Valid {
		e.Metadata = []byte(metadata.String)
	}
	e.TenantID, e.SessionID, e.IdempotencyKey, e.Version = tenant.String, session.String, idem.String, version.String
	e.Outcome = vigil.Outcome(outcome)
	e.PatientID, e.PurposeOfUse = patient.String, purpose.String
	e.IPAddress, e.UserAgent, e.Source = ip.String, ua.String, source.String
	e.IPCountry, e.IPCity, e.IPRegion = country.String, city.String, region.String
	if e.Targets, err = parseTargets(targets.String); err != nil {
		return e, false, err
	}
	if keyID.Valid {
		if err := db.openSealed(&e, keyID.String, commitments, sealed, open); err != nil {
			return e, false, err
		}
	}
	return e, fromConn.Valid, nil
}

// Event implements vigil.EventStore.
func (db *DB) Event(ctx context.Context, workspace, tenantScope, id string) (vigil.Event, error) {
	if err := db.await(ctx, workspace); err != nil {
		return vigil.Event{}, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Event{}, err
	}
	q := "SELECT " + eventColumns + " FROM events e WHERE e.id = ? AND e.ws = ?"
	args := []any{id, ws}
	if tenantScope != "" {
		q += " AND e.tenant_id = ?"
		args = append(args, tenantScope)
	}
	e, err := db.scanEvent(db.read.QueryRowContext(ctx, q, args...), workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return e, vigil.Errorf(vigil.ENOTFOUND, "event not found")
	} else if err != nil {
		return e, vigil.Unavailable("reading the event failed", err)
	}
	return e, nil
}

// EventBySequence returns the event at a sequence number of a workspace.
func (db *DB) EventBySequence(ctx context.Context, workspace string, seq int64) (vigil.Event, error) {
	if err := db.await(ctx, workspace); err != nil {
		return vigil.Event{}, err
	}
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Event{}, err
	}
	e, err := db.scanEvent(db.read.QueryRowContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND e.seq = ?", ws, seq), workspace)
	if errors.Is(err, sql.ErrNoRows) {
		return e, vigil.Errorf(vigil.ENOTFOUND, "event not found")
	} else if err != nil {
		return e, vigil.Unavailable("reading the event failed", err)
	}
	return e, nil
}

// Events implements vigil.EventStore.
func (db *DB) Events(ctx context.Context, q vigil.Query) (vigil.Page, error) {
	if err := db.await(ctx, q.Workspace); err != nil {
		return vigil.Page{}, err
	}
	var page vigil.Page
	ws, err := db.workspaceID(ctx, q.Workspace)
	if err != nil {
		return page, err
	}
	limit := q.Limit
	if limit <= 0 {
		limit = vigil.DefaultQueryLimit
	}
	// Few matching search terms: name the events, so SQLite looks them up
	// by key rather than walking the workspace in order (the "+" keeps it
	// from choosing the occurred_at index for the ORDER BY).
	occurred := "e.occurred_at"
	var where string
	var args []any
	key, err := db.readBlinder(ctx, q.Workspace)
	if err != nil {
		return page, err
	}
	if len(q.Terms) > 0 {
		seqs, sparse, err := db.matchTerms(ctx, ws, q.Terms, key)
		if err != nil {
			return page, vigil.Unavailable("searching events failed", err)
		}
		if sparse {
			nq := q
			nq.Terms = nil
			where, args = whereClause(ws, nq, key)
			where += " AND e.seq IN (SELECT value FROM json_each(?))"
			args = append(args, seqList(seqs))
			occurred = "+e.occurred_at"
		}
	}
	if where == "" {
		where, args = whereClause(ws, q, key)
	}
	sel := "SELECT " + eventColumns + " FROM events e WHERE " + where
	selArgs := append([]any{}, args...)
	switch q.Order {
	case vigil.OrderOccurredDesc:
		if q.After != nil {
			sel += " AND (e.occurred_at < ? OR (e.occurred_at = ? AND e.seq < ?))"
			selArgs = append(selArgs, q.After.Occurred, q.After.Occurred, q.After.Sequence)
		}
		sel += " ORDER BY " + occurred + " DESC, e.seq DESC LIMIT ?"
	case vigil.OrderOccurredAsc:
		if q.After != nil {
			sel += " AND (e.occurred_at > ? OR (e.occurred_at = ? AND e.seq > ?))"
			selArgs = append(selArgs, q.After.Occurred, q.After.Occurred, q.After.Sequence)
		}
		sel += " ORDER BY " + occurred + " ASC, e.seq ASC LIMIT ?"
	default:
		if q.Before >= 0 {
			sel += " AND e.seq < ?"
			selArgs = append(selArgs, q.Before)
		}
		sel += " ORDER BY e.seq DESC LIMIT ?"
	}
	scan := func(s scanner) (vigil.Event, error) { return db.scanEvent(s, q.Workspace) }
	if page.Events, page.HasMore, err = queryPage(ctx, db.read, "events", limit, scan, sel, selArgs...); err != nil {
		return page, err
	}
	if page.HasMore {
		page.Next = page.Events[limit-1].Sequence
	}
	if page.Total, err = db.count(ctx, ws, q, where, args); err != nil {
		return page, err
	}
	return page, nil
}

func (db *DB) count(ctx context.Context, ws int64, q vigil.Query, where string, args []any) (int64, error) {
	var n int64
	if unfiltered(q) {
		// The whole log: its size is the count, no scan needed.
		err := db.read.QueryRowContext(ctx, "SELECT coalesce(max(seq) + 1, 0) FROM events WHERE ws = ?", ws).Scan(&n)
		if err != nil {
			return 0, vigil.Unavailable("counting events failed", err)
		}
		return n, nil
	}
	if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM events e WHERE "+where, args...).Scan(&n); err != nil {
		return 0, vigil.Unavailable("counting events failed", err)
	}
	return n, nil
}

func unfiltered(q vigil.Query) bool {
	q.Workspace, q.Before, q.Limit, q.Order, q.After = "", 0, 0, vigil.OrderSequence, nil
	return reflect.ValueOf(q).IsZero()
}

// whereClause turns a query's filters into SQL. Every value is a bound
// parameter; only fixed column names are spliced in. With the workspace's
// blind-index key, a filter on an identifying column matches the value
// (events in clear) or its blind index (sealed events): no plaintext
// stored ever starts with vigil.BlindPrefix, and no one without the key
// can make a value that does and matches.
func whereClause(ws int64, q vigil.Query, key *vigil.Blinder) (string, []any) {
	var b strings.Builder
	args := []any{ws}
	b.WriteString("e.ws = ?")
	eq := func(col, v string) {
		if v != "" {
			b.WriteString(" AND " + col + " = ?")
			args = append(args, v)
		}
	}
	blind := func(col, field, v string) {
		if v == "" {
			return
		}
		if key == nil {
			eq(col, v)
			return
		}
		b.WriteString(" AND " + col + " IN (?, ?)")
		args = append(args, v, key.Index(field, v))
	}
	eq("e.tenant_id", q.TenantScope)
	blind("e.actor_id", "actor_id", q.ActorID)
	eq("e.resource", q.Resource)
	blind("e.resource_id", "resource_id", q.ResourceID)
	eq("e.tenant_id", q.TenantID)
	blind("e.session_id", "session_id", q.SessionID)
	blind("e.patient_id", "patient_id", q.PatientID)
	eq("e.outcome", string(q.Outcome))
	eq("e.purpose_of_use", q.PurposeOfUse)
	if q.Action != "" {
		if strings.Contains(q.Action, "*") {
			b.WriteString(" AND e.action GLOB ?")
			args = append(args, globPattern(q.Action))
		} else {
			eq("e.action", q.Action)
		}
	}
	if q.TargetType != "" || q.TargetID != "" {
		b.WriteString(" AND EXISTS (SELECT 1 FROM event_targets t WHERE t.ws = e.ws AND t.seq = e.seq")
		if q.TargetType != "" {
			b.WriteString(" AND t.type = ?")
			args = append(args, q.TargetType)
		}
		if q.TargetID != "" && key != nil {
			b.WriteString(" AND t.id IN (?, ?)")
			args = append(args, q.TargetID, key.Index("target_id", q.TargetID))
		} else if q.TargetID != "" {
			b.WriteString(" AND t.id = ?")
			args = append(args, q.TargetID)
		}
		b.WriteString(")")
	}
	if q.Search != "" {
		like := "%" + escapeLike(q.Search) + "%"
		b.WriteString(` AND (e.actor_id LIKE ? ESCAPE '\' OR e.actor_name LIKE ? ESCAPE '\' OR e.action LIKE ? ESCAPE '\'` +
			` OR e.resource LIKE ? ESCAPE '\' OR e.resource_id LIKE ? ESCAPE '\' OR e.resource_name LIKE ? ESCAPE '\'`)
		for range 6 {
			args = append(args, like)
		}
		if key != nil {
			// A sealed event's names are not in the database: its ids
			// match the whole search text exactly, through their blind
			// indexes; action and resource, in clear, match substrings.
			b.WriteString(" OR e.actor_id = ? OR e.resource_id = ?")
			args = append(args, key.Index("actor_id", q.Search), key.Index("resource_id", q.Search))
		}
		b.WriteString(")")
	}
	if len(q.Terms) > 0 {
		termsClause(&b, &args, ws, q.Terms, key)
	}
	for _, ids := range q.IDs {
		// Every list names at least one id; an empty one matches nothing.
		b.WriteString(" AND e.id IN (SELECT value FROM json_each(?))")
		list, _ := json.Marshal(ids)
		args = append(args, string(list))
	}
	if !q.CreatedFrom.IsZero() {
		b.WriteString(" AND e.created_at >= ?")
		args = append(args, q.CreatedFrom.UnixNano())
	}
	if !q.CreatedTo.IsZero() {
		b.WriteString(" AND e.created_at < ?")
		args = append(args, q.CreatedTo.UnixNano())
	}
	if !q.From.IsZero() {
		b.WriteString(" AND e.occurred_at >= ?")
		args = append(args, q.From.UnixNano())
	}
	if !q.To.IsZero() {
		b.WriteString(" AND e.occurred_at < ?")
		args = append(args, q.To.UnixNano())
	}
	return b.String(), args
}

// globPattern turns a pattern where only '*' is special into a GLOB
// pattern, escaping GLOB's other metacharacters.
func globPattern(p string) string {
	var b strings.Builder
	for _, r := range p {
		switch r {
		case '?', '[', ']':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// StoredEvent returns the event at a sequence number as its row holds it,
// without waiting for the read barrier, and whether its address is the
// connection's: what the log's record of it keeps (moving a data
// directory written before the log into the log).
func (db *DB) StoredEvent(ctx context.Context, workspace string, seq int64) (vigil.Event, bool, error) {
	ws, err := db.workspaceID(ctx, workspace)
	if err != nil {
		return vigil.Event{}, false, err
	}
	e, _, err := db.scanEventOrigin(db.read.QueryRowContext(ctx, "SELECT "+eventColumns+" FROM events e WHERE e.ws = ? AND e.seq = ?", ws, seq), workspace)
	if err != nil {
		return vigil.Event{}, false, err
	}
	return e, e.IPFromConnection, nil
}
