package alert

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil"
)

// MaxConditionsBytes bounds a rule's conditions; watchlists are the only
// large ones.
const MaxConditionsBytes = 1 << 20

// maxListItems bounds each list in conditions (watchlists, days, patterns).
const maxListItems = 10000

// fields decodes one JSON object strictly and names every problem by its
// field. Decoding field by field (rather than into a struct) is what lets
// each error say which field it is about, lets a missing integer be told
// from a zero, and catches repeated keys that encoding/json would let the
// last one win.
type fields struct {
	prefix  string // "conditions."
	values  map[string]json.RawMessage
	order   []string // keys as they came, for stable unknown-field errors
	used    map[string]bool
	details []vigil.ErrorDetail
}

func decodeFields(raw json.RawMessage, prefix string) *fields {
	f := &fields{prefix: prefix, values: map[string]json.RawMessage{}, used: map[string]bool{}}
	field := strings.TrimSuffix(prefix, ".")
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return f // absent conditions are an empty object; required fields say what is missing
	}
	if len(raw) > MaxConditionsBytes {
		f.add(field, "must be at most "+strconv.Itoa(MaxConditionsBytes)+" bytes")
		return f
	}
	if !utf8.Valid(raw) {
		f.add(field, "must be valid UTF-8")
		return f
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		f.add(field, "must be a JSON object")
		return f
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			f.add(field, "must be a JSON object")
			return f
		}
		key := t.(string) // inside an object the decoder only yields string keys
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			f.add(field, "must be a JSON object")
			return f
		}
		if _, dup := f.values[key]; dup {
			f.add(prefix+key, "appears more than once")
			continue
		}
		f.values[key] = v
		f.order = append(f.order, key)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		f.add(field, "must be a JSON object")
		return f
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		f.add(field, "must be a single JSON object")
	}
	return f
}

func (f *fields) add(field, msg string) {
	f.details = append(f.details, vigil.ErrorDetail{Field: field, Message: msg})
}

// get returns the raw value of name, nil when absent or null (null means
// absent, as everywhere in the API).
func (f *fields) get(name string, required bool) json.RawMessage {
	f.used[name] = true
	v, ok := f.values[name]
	if !ok || bytes.Equal(v, []byte("null")) {
		if required {
			f.add(f.prefix+name, "is required")
		}
		return nil
	}
	return v
}

// has reports whether name is present and not null.
func (f *fields) has(name string) bool {
	v, ok := f.values[name]
	return ok && !bytes.Equal(v, []byte("null"))
}

func (f *fields) string(name string, required bool) (string, bool) {
	v := f.get(name, required)
	if v == nil {
		return "", false
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		f.add(f.prefix+name, "must be a string")
		return "", false
	}
	return s, true
}

func (f *fields) int(name string, required bool) (int, bool) {
	v := f.get(name, required)
	if v == nil {
		return 0, false
	}
	var n int64 // refuses fractions, exponents and strings
	if err := json.Unmarshal(v, &n); err != nil || n != int64(int(n)) {
		f.add(f.prefix+name, "must be an integer")
		return 0, false
	}
	return int(n), true
}

func (f *fields) bool(name string) bool {
	v := f.get(name, false)
	if v == nil {
		return false
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		f.add(f.prefix+name, "must be true or false")
	}
	return b
}

// strings decodes a list of strings; an empty list counts as absent.
func (f *fields) strings(name string, required bool) ([]string, bool) {
	v := f.get(name, required)
	if v == nil {
		return nil, false
	}
	var list []string
	if err := json.Unmarshal(v, &list); err != nil {
		f.add(f.prefix+name, "must be a list of strings")
		return nil, false
	}
	if len(list) > maxListItems {
		f.add(f.prefix+name, "must hold at most "+strconv.Itoa(maxListItems)+" items")
		return nil, false
	}
	if len(list) == 0 {
		if required {
			f.add(f.prefix+name, "must not be empty")
		}
		return nil, false
	}
	return list, true
}

// id checks a string that names something stored (actor, patient, country).
func (f *fields) id(field, s string) bool {
	if strings.TrimSpace(s) == "" {
		f.add(field, "must not be empty")
		return false
	}
	if msg := vigil.CheckString(s, vigil.Identifier, vigil.MaxIDLength); msg != "" {
		f.add(field, msg)
		return false
	}
	return true
}

// pattern decodes an action pattern; absent means every action.
func (f *fields) pattern(name string, required bool) Pattern {
	s, ok := f.string(name, required)
	if !ok {
		return everything
	}
	if !f.id(f.prefix+name, s) {
		return everything
	}
	if strings.TrimSpace(s) != s {
		f.add(f.prefix+name, "must not start or end with white space")
		return everything
	}
	return NewPattern(s)
}

// patterns decodes a list of action patterns.
func (f *fields) patterns(name string, required bool) []Pattern {
	list, ok := f.strings(name, required)
	if !ok {
		return nil
	}
	var ps []Pattern
	for i, s := range list {
		field := f.prefix + name + "[" + strconv.Itoa(i) + "]"
		if !f.id(field, s) {
			continue
		}
		if strings.TrimSpace(s) != s {
			f.add(field, "must not start or end with white space")
			continue
		}
		ps = append(ps, NewPattern(s))
	}
	return ps
}

// duration decodes a Duration within [min, max].
func (f *fields) duration(name string, required bool, min, max Duration) (Duration, bool) {
	s, ok := f.string(name, required)
	if !ok {
		return 0, false
	}
	d, err := ParseDuration(s)
	if err != nil {
		f.add(f.prefix+name, err.Error())
		return 0, false
	}
	if d < min || d > max {
		f.add(f.prefix+name, "must be between "+min.String()+" and "+max.String())
		return 0, false
	}
	return d, true
}

// err reports unknown fields and returns every problem found, or nil.
func (f *fields) err() error {
	for _, k := range f.order {
		if !f.used[k] {
			f.add(f.prefix+k, "is not a known field")
		}
	}
	if len(f.details) == 0 {
		return nil
	}
	return vigil.Invalid(f.details...)
}
