package fhir

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil"
)

// maxString bounds any one string element; the narrative's div may be
// larger, up to the whole resource's limit.
const maxString = vigil.MaxTextLength

// decodeStrict decodes body into v (a pointer to one of this package's
// structs) the way FHIR's JSON format wants it read: every element known,
// of the right JSON type, no nulls, no empty strings, arrays or objects.
// Every problem is reported with its element path ("AuditEvent.agent[0].who"),
// all at once. root names the resource in paths.
func decodeStrict(body []byte, root string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return vigil.Errorf(vigil.EMALFORMED, "the body is not valid JSON: %v", err)
	}
	if dec.More() {
		return vigil.Errorf(vigil.EMALFORMED, "the body holds more than one JSON value")
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return vigil.Errorf(vigil.EMALFORMED, "the body must be a JSON object (a FHIR resource)")
	}
	if rt, ok := obj["resourceType"].(string); ok && root != "" && rt != root {
		return vigil.Invalid(vigil.ErrorDetail{Field: "resourceType", Message: "must be " + root + ", not " + strconv.Quote(rt)})
	}
	var w walker
	w.value(obj, reflect.TypeOf(v).Elem(), root)
	if len(w.details) > 0 {
		return vigil.Invalid(w.details...)
	}
	// The walk proved the shape; this cannot fail on type grounds.
	if err := json.Unmarshal(body, v); err != nil {
		return vigil.Errorf(vigil.EMALFORMED, "the body is not valid JSON: %v", err)
	}
	return nil
}

type walker struct{ details []vigil.ErrorDetail }

func (w *walker) bad(path, msg string) {
	if len(w.details) < 100 {
		w.details = append(w.details, vigil.ErrorDetail{Field: path, Message: msg})
	}
}

var rawType = reflect.TypeFor[json.RawMessage]()

// value checks one JSON value against the Go type it will decode into.
func (w *walker) value(v any, t reflect.Type, path string) {
	if v == nil {
		w.bad(path, "must not be null")
		return
	}
	if t == rawType {
		// Extensions: any JSON object, kept as sent.
		if _, ok := v.(map[string]any); !ok {
			w.bad(path, "must be an object")
		}
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		s, ok := v.(string)
		switch {
		case !ok:
			w.bad(path, "must be a string")
		case strings.TrimSpace(s) == "":
			w.bad(path, "must not be empty (FHIR has no empty strings)")
		default:
			// Every FHIR string is text: R4 allows tabs and line breaks
			// and no other control characters. Those that become Vigil
			// identifiers are held to more by vigil.Prepare.
			limit := maxString
			if strings.HasSuffix(path, ".div") {
				limit = len(s) // the narrative: bounded by the resource's limit
			}
			if msg := vigil.CheckString(s, vigil.Text, limit); msg != "" {
				w.bad(path, msg)
			}
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			w.bad(path, "must be a boolean")
		}
	case reflect.Slice:
		a, ok := v.([]any)
		switch {
		case !ok:
			w.bad(path, "must be an array")
			return
		case len(a) == 0:
			w.bad(path, "must not be an empty array")
		case len(a) > vigil.MaxTargets:
			w.bad(path, "must hold at most "+strconv.Itoa(vigil.MaxTargets)+" items")
			return
		}
		for i, x := range a {
			w.value(x, t.Elem(), path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Struct:
		o, ok := v.(map[string]any)
		if !ok {
			w.bad(path, "must be an object")
			return
		}
		if len(o) == 0 {
			w.bad(path, "must not be an empty object")
			return
		}
		fields := jsonFields(t)
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := path + "." + k
			if path == "" {
				p = k
			}
			f, ok := fields[k]
			if !ok {
				w.bad(p, "unknown element: an audit record must not silently lose data")
				continue
			}
			w.value(o[k], f, p)
		}
	}
}

// jsonFields maps a struct's JSON names to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		m[name] = f.Type
	}
	return m
}
