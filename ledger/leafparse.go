package ledger

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
)

// LeafError reports bytes that are not a version 1 leaf.
type LeafError struct {
	Path string // JSON Pointer of the offending member; "" for the whole leaf
	Msg  string
	Err  error // the *CanonicalError when the JSON itself is malformed
}

func (e *LeafError) Error() string {
	if e.Path == "" {
		return "ledger: leaf: " + e.Msg
	}
	return "ledger: leaf: " + e.Path + ": " + e.Msg
}

func (e *LeafError) Unwrap() error { return e.Err }

// ParseEvent reads a leaf back into the event it records, so
// bundles and exports can be read without a database. It is strict about
// the schema: the leaf must be one JSON object with no unknown, repeated or
// mistyped members, with "v" equal to 1 or 2, and with id, sequence,
// created_at and occurred_at. Metadata comes back in canonical form. A
// version 2 leaf comes back with its Seal and without the identifying
// fields, which only its sealed payload holds (ledger.OpenFields).
//
// It does not require the bytes to be canonical; a verifier checks that
// by comparing AppendEvent of the result with the bytes.
func ParseEvent(canonical []byte) (vigil.Event, error) {
	// Sized once: the text of the strings is never longer than the leaf.
	r := leafReader{text: make([]byte, 0, len(canonical)), spans: make([]textSpan, 0, 32)}
	r.p.keys, r.p.path = make([]byte, 0, 64), make([]pathSegment, 0, 4)
	return r.read(canonical)
}

// requiredMembers are in every version 1 leaf AppendEvent writes (id is
// assigned by the store before any event is written).
var requiredMembers = []struct {
	bit  leafMember
	name string
}{{memberV, "v"}, {memberID, "id"}, {memberSequence, "sequence"}, {memberCreatedAt, "created_at"}, {memberOccurredAt, "occurred_at"}}

// read parses one leaf, reusing the reader's buffers from the last.
func (r *leafReader) read(in []byte) (vigil.Event, error) {
	r.p = parser{in: in, path: r.p.path[:0], keys: r.p.keys[:0], mems: r.p.mems[:0], out: r.p.out}
	r.e, r.seen, r.format, r.text, r.spans = vigil.Event{}, 0, 0, r.text[:0], r.spans[:0]
	r.p.skipSpace()
	if err := r.p.members(r.member); err != nil {
		return vigil.Event{}, leafError(err)
	}
	r.p.skipSpace()
	if r.p.pos != len(r.p.in) {
		return vigil.Event{}, &LeafError{Msg: "data after the leaf object"}
	}
	for _, req := range requiredMembers {
		if r.seen&(1<<req.bit) == 0 {
			return vigil.Event{}, &LeafError{Msg: "no " + req.name + " member"}
		}
	}
	switch r.format {
	case LeafVersion:
		if r.seen&(1<<memberCommitments|1<<memberKeyID) != 0 {
			return vigil.Event{}, &LeafError{Msg: "a version 1 leaf has no commitments or key_id"}
		}
	case SealedLeafVersion:
		if r.seen&clearOnlyMembers != 0 {
			return vigil.Event{}, &LeafError{Msg: "a version 2 leaf holds the identifying fields only as commitments"}
		}
		if r.seen&(1<<memberCommitments) == 0 || r.seen&(1<<memberKeyID) == 0 {
			return vigil.Event{}, &LeafError{Msg: "a version 2 leaf has commitments and a key_id"}
		}
	}
	r.finish()
	return r.e, nil
}

func leafError(err error) error {
	if ce, ok := err.(*CanonicalError); ok {
		return &LeafError{Path: ce.Path, Msg: ce.Msg, Err: ce}
	}
	return err
}

type leafMember uint

const (
	memberV leafMember = iota
	memberWorkspace
	memberSequence
	memberID
	memberCreatedAt
	memberOccurredAt
	memberActorID
	memberActorName
	memberActorType
	memberAction
	memberActionCategory
	memberResource
	memberResourceID
	memberResourceName
	memberTargets
	memberMetadata
	memberTenantID
	memberSessionID
	memberIdempotencyKey
	memberVersion
	memberOutcome
	memberPatientID
	memberPurposeOfUse
	memberIPAddress
	memberUserAgent
	memberSource
	memberIPCountry
	memberIPCity
	memberIPRegion
	memberCommitments
	memberKeyID
)

// clearOnlyMembers are the members of the identifying fields, which a
// version 2 leaf holds only as commitments.
const clearOnlyMembers = 1<<memberActorID | 1<<memberActorName | 1<<memberIdempotencyKey | 1<<memberIPAddress |
	1<<memberIPCity | 1<<memberMetadata | 1<<memberPatientID | 1<<memberResourceID | 1<<memberResourceName |
	1<<memberSessionID | 1<<memberTargets | 1<<memberUserAgent

// leafReader reads one leaf. The text of all its string members goes end
// to end into one buffer that becomes one string, which the fields then
// slice: one allocation where there would be one per field.
type leafReader struct {
	p      parser
	e      vigil.Event
	seen   uint64
	format int64
	text   []byte
	spans  []textSpan
}

// textSpan places one string member's text: in an event field, the
// outcome, or a field of target number target.
type textSpan struct {
	field      *string
	target     int32
	which      fieldKind
	start, end int32
}

type fieldKind uint8

const (
	eventField fieldKind = iota
	eventOutcome
	targetID
	targetName
	targetType
)

// finish gives every string field its text.
func (r *leafReader) finish() {
	all := string(r.text)
	for _, s := range r.spans {
		text := all[s.start:s.end]
		switch s.which {
		case eventField:
			*s.field = text
		case eventOutcome:
			r.e.Outcome = vigil.Outcome(text)
		case targetID:
			r.e.Targets[s.target].ID = text
		case targetName:
			r.e.Targets[s.target].Name = text
		case targetType:
			r.e.Targets[s.target].Type = text
		}
	}
}

// textOf reads a string member into the reader's text, to be placed by
// finish.
func (r *leafReader) textOf(field *string, target int, which fieldKind) error {
	start, end, err := r.p.textValue(&r.text)
	r.spans = append(r.spans, textSpan{field, int32(target), which, int32(start), int32(end)})
	return err
}

func (r *leafReader) member(name []byte) error {
	e := &r.e
	switch string(name) {
	case "v":
		return r.version()
	case "workspace":
		return r.str(memberWorkspace, &e.Workspace)
	case "sequence":
		return r.sequence()
	case "id":
		return r.str(memberID, &e.ID)
	case "created_at":
		return r.time(memberCreatedAt, &e.CreatedAt)
	case "occurred_at":
		return r.time(memberOccurredAt, &e.OccurredAt)
	case "actor_id":
		return r.str(memberActorID, &e.ActorID)
	case "actor_name":
		return r.str(memberActorName, &e.ActorName)
	case "actor_type":
		return r.str(memberActorType, &e.ActorType)
	case "action":
		return r.str(memberAction, &e.Action)
	case "action_category":
		return r.str(memberActionCategory, &e.ActionCategory)
	case "resource":
		return r.str(memberResource, &e.Resource)
	case "resource_id":
		return r.str(memberResourceID, &e.ResourceID)
	case "resource_name":
		return r.str(memberResourceName, &e.ResourceName)
	case "targets":
		return r.targets()
	case "metadata":
		if err := r.once(memberMetadata); err != nil {
			return err
		}
		var err error
		e.Metadata, err = r.p.objectValue()
		return err
	case "tenant_id":
		return r.str(memberTenantID, &e.TenantID)
	case "session_id":
		return r.str(memberSessionID, &e.SessionID)
	case "idempotency_key":
		return r.str(memberIdempotencyKey, &e.IdempotencyKey)
	case "version":
		return r.str(memberVersion, &e.Version)
	case "outcome":
		if err := r.once(memberOutcome); err != nil {
			return err
		}
		return r.textOf(nil, -1, eventOutcome)
	case "patient_id":
		return r.str(memberPatientID, &e.PatientID)
	case "purpose_of_use":
		return r.str(memberPurposeOfUse, &e.PurposeOfUse)
	case "ip_address":
		return r.str(memberIPAddress, &e.IPAddress)
	case "user_agent":
		return r.str(memberUserAgent, &e.UserAgent)
	case "source":
		return r.str(memberSource, &e.Source)
	case "ip_country":
		return r.str(memberIPCountry, &e.IPCountry)
	case "ip_city":
		return r.str(memberIPCity, &e.IPCity)
	case "ip_region":
		return r.str(memberIPRegion, &e.IPRegion)
	case "commitments":
		return r.commitments()
	case "key_id":
		if e.Seal == nil {
			e.Seal = &vigil.Seal{}
		}
		return r.str(memberKeyID, &e.Seal.KeyID)
	}
	return r.p.fail("unknown member")
}

// once records that a member was read, refusing a second one: encoding/json
// would let the last of two win, and a reader must see what was hashed.
func (r *leafReader) once(m leafMember) error {
	if r.seen&(1<<m) != 0 {
		return r.p.fail("duplicate member name")
	}
	r.seen |= 1 << m
	return nil
}

func (r *leafReader) str(m leafMember, dst *string) error {
	if err := r.once(m); err != nil {
		return err
	}
	return r.textOf(dst, -1, eventField)
}

func (r *leafReader) version() error {
	if err := r.once(memberV); err != nil {
		return err
	}
	v, err := r.p.naturalValue()
	if err != nil {
		return err
	}
	if v != LeafVersion && v != SealedLeafVersion {
		return r.p.fail("leaf format version " + strconv.FormatInt(v, 10) + " is not supported (this reader knows versions 1 and 2)")
	}
	r.format = v
	return nil
}

// commitments reads a version 2 leaf's commitments: an object from sealed
// field names to SHA-256 hashes in lower-case hex.
func (r *leafReader) commitments() error {
	if err := r.once(memberCommitments); err != nil {
		return err
	}
	if r.e.Seal == nil {
		r.e.Seal = &vigil.Seal{}
	}
	var seen [NumSealed]bool
	return r.p.members(func(name []byte) error {
		i := sealedIndex(string(name))
		if i < 0 {
			return r.p.fail("not a sealed field")
		}
		if seen[i] {
			return r.p.fail("duplicate member name")
		}
		seen[i] = true
		start := r.p.pos
		mark := len(r.p.keys)
		from, to, err := r.p.textValue(&r.p.keys)
		if err != nil {
			return err
		}
		var h vigil.Hash
		text := r.p.keys[from:to]
		ok := len(text) == 2*len(h)
		if ok {
			_, herr := hex.Decode(h[:], text)
			ok = herr == nil && bytes.Equal(text, []byte(hex.EncodeToString(h[:])))
		}
		r.p.keys = r.p.keys[:mark]
		if !ok {
			r.p.pos = start
			return r.p.fail("not a SHA-256 hash in lower-case hex")
		}
		r.e.Seal.Commitments = append(r.e.Seal.Commitments, vigil.Commitment{Field: SealedFields[i], Hash: h})
		return nil
	})
}

func (r *leafReader) sequence() error {
	if err := r.once(memberSequence); err != nil {
		return err
	}
	var err error
	r.e.Sequence, err = r.p.naturalValue()
	return err
}

func (r *leafReader) time(m leafMember, dst *time.Time) error {
	if err := r.once(m); err != nil {
		return err
	}
	start := r.p.pos
	mark := len(r.p.keys)
	from, to, err := r.p.textValue(&r.p.keys)
	if err != nil {
		return err
	}
	t, ok := parseLeafTime(r.p.keys[from:to])
	r.p.keys = r.p.keys[:mark]
	if !ok {
		r.p.pos = start
		return r.p.fail("not a time in the layout " + TimeLayout)
	}
	*dst = t
	return nil
}

func (r *leafReader) targets() error {
	if err := r.once(memberTargets); err != nil {
		return err
	}
	return r.p.elements(func() error {
		var t vigil.Target
		n := len(r.e.Targets)
		var seen uint8
		once := func(bit uint8) error {
			if seen&bit != 0 {
				return r.p.fail("duplicate member name")
			}
			seen |= bit
			return nil
		}
		err := r.p.members(func(name []byte) error {
			var err error
			switch string(name) {
			case "id":
				if err = once(1); err == nil {
					err = r.textOf(nil, n, targetID)
				}
			case "metadata":
				if err = once(2); err == nil {
					t.Metadata, err = r.p.objectValue()
				}
			case "name":
				if err = once(4); err == nil {
					err = r.textOf(nil, n, targetName)
				}
			case "type":
				if err = once(8); err == nil {
					err = r.textOf(nil, n, targetType)
				}
			default:
				err = r.p.fail("unknown member")
			}
			return err
		})
		r.e.Targets = append(r.e.Targets, t)
		return err
	})
}

// parseLeafTime reads exactly TimeLayout, refusing what time.Parse would
// normalise or accept in another spelling.
func parseLeafTime(s []byte) (time.Time, bool) {
	if len(s) != len(TimeLayout) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
		s[16] != ':' || s[19] != '.' || s[29] != 'Z' {
		return time.Time{}, false
	}
	ok := true
	num := func(from, to int) int {
		n := 0
		for _, c := range s[from:to] {
			if c < '0' || c > '9' {
				ok = false
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(0, 4), num(5, 7), num(8, 10)
	hour, minute, sec, nsec := num(11, 13), num(14, 16), num(17, 19), num(20, 29)
	if !ok || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // 31 April and the like roll over
		return time.Time{}, false
	}
	return t, true
}
