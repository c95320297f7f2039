package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil"
)

// Media types a body may be sent as: the REST API's, and the FHIR
// endpoint's (which also takes plain JSON and the DSTU2 name).
var (
	jsonTypes = []string{"application/json"}
	fhirTypes = []string{"application/fhir+json", "application/json", "application/json+fhir"}
)

// readBody reads a JSON request body of at most limit bytes and checks
// what encoding/json would otherwise let through silently: invalid UTF-8
// and lone surrogate escapes (both become U+FFFD), and nesting deeper
// than vigil.MaxJSONDepth. The body must be sent as application/json.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	return readBodyAs(r, limit, jsonTypes)
}

// readBodyAs is readBody for a route that takes the given media types.
func readBodyAs(r *http.Request, limit int64, types []string) ([]byte, error) {
	if err := checkContentType(r, types); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, vigil.Errorf(vigil.ETOOLARGE, "the body exceeds %d bytes", limit)
	} else if err != nil {
		return nil, vigil.Errorf(vigil.EMALFORMED, "reading the body failed")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, vigil.Errorf(vigil.EMALFORMED, "the body is empty")
	}
	if err := checkJSONText(body); err != nil {
		return nil, err
	}
	return body, nil
}

// checkContentType refuses a body whose Content-Type is not one of types,
// or whose parameters say something the server would not honour: a
// charset other than UTF-8 (the body would be read as UTF-8 all the same),
// a FHIR version other than R4, or any parameter it does not know. A
// request without Content-Type is read as JSON.
func checkContentType(r *http.Request, types []string) error {
	vs := r.Header.Values("Content-Type")
	if len(vs) == 0 {
		return nil
	}
	want := "Content-Type must be " + strings.Join(types, " or ")
	if len(vs) > 1 {
		return mediaError(want + ", given once")
	}
	mt, params, err := mime.ParseMediaType(vs[0])
	if err != nil {
		return mediaError(want + "; " + strconv.Quote(vs[0]) + " is not a valid media type")
	}
	if !slices.Contains(types, mt) {
		return mediaError(want + ", not " + mt)
	}
	for name, v := range params {
		switch {
		case name == "charset":
			if !strings.EqualFold(v, "utf-8") {
				return mediaError("the body must be UTF-8; charset " + strconv.Quote(v) + " is not supported")
			}
		case name == "fhirversion" && strings.Contains(mt, "fhir"):
			if v != "4.0" {
				return mediaError("this server speaks FHIR R4 (fhirVersion=4.0), not fhirVersion " + strconv.Quote(v))
			}
		default:
			return mediaError("the Content-Type parameter " + strconv.Quote(name) + " is not supported")
		}
	}
	return nil
}

func mediaError(msg string) error {
	return &vigil.Error{Code: vigil.EMEDIATYPE, Message: msg, Details: []vigil.ErrorDetail{{Field: "Content-Type", Message: msg}}}
}

// noBody refuses a body on a request that takes none, rather than ignore
// what the client meant to say.
func noBody(r *http.Request) error {
	n, err := io.Copy(io.Discard, io.LimitReader(r.Body, 1))
	if err != nil {
		return vigil.Errorf(vigil.EMALFORMED, "reading the body failed")
	}
	if n > 0 {
		return vigil.Errorf(vigil.EMALFORMED, "%s %s takes no body", r.Method, r.URL.Path)
	}
	return nil
}

// checkJSONText scans a body once for the problems encoding/json hides:
// invalid UTF-8, NUL and lone-surrogate escapes, nesting beyond the limit,
// and a member repeated in one object (encoding/json would keep the last
// value and silently drop the others).
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		return vigil.Errorf(vigil.EMALFORMED, "the body is not valid UTF-8")
	}
	var stack []jsonFrame
	inString, start := false, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			switch c {
			case '\\':
				if i+1 < len(b) && b[i+1] == 'u' {
					if err := checkEscape(b, i); err != nil {
						return err
					}
				}
				i++
			case '"':
				inString = false
				if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
					if err := stack[n-1].member(b[start : i+1]); err != nil {
						return err
					}
				}
			}
			continue
		}
		switch c {
		case '"':
			inString, start = true, i
		case '{', '[':
			if len(stack) >= vigil.MaxJSONDepth {
				return vigil.Errorf(vigil.EMALFORMED, "JSON nesting exceeds %d levels", vigil.MaxJSONDepth)
			}
			stack = append(stack, jsonFrame{object: c == '{', expectKey: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 && stack[n-1].object {
				stack[n-1].expectKey = true
			}
		}
	}
	return nil
}

// jsonFrame is one open object or array of checkJSONText's scan.
type jsonFrame struct {
	object, expectKey bool
	keys              [][]byte            // the members so far, while few: slices of the body, no copies
	many              map[string]struct{} // past manyKeys members
}

const manyKeys = 16

// member records a member name (quoted, as in the text) and refuses a
// repeated one. Names with escapes are compared decoded, so "a" and
// "\u0061" are the same member.
func (f *jsonFrame) member(quoted []byte) error {
	f.expectKey = false
	name := quoted[1 : len(quoted)-1]
	if bytes.IndexByte(quoted, '\\') >= 0 {
		var s string
		if err := json.Unmarshal(quoted, &s); err != nil {
			return nil // encoding/json reports the syntax error
		}
		name = []byte(s)
	}
	if f.many != nil {
		if _, dup := f.many[string(name)]; dup {
			return repeated(string(name))
		}
		f.many[string(name)] = struct{}{}
		return nil
	}
	for _, k := range f.keys {
		if bytes.Equal(k, name) {
			return repeated(string(name))
		}
	}
	f.keys = append(f.keys, name)
	if len(f.keys) > manyKeys {
		f.many = make(map[string]struct{}, 2*manyKeys)
		for _, k := range f.keys {
			f.many[string(k)] = struct{}{}
		}
		f.keys = nil
	}
	return nil
}

func repeated(name string) error {
	return vigil.Errorf(vigil.EMALFORMED, "the member %q appears twice in one JSON object", name)
}

// checkEscape refuses \u escapes that are NUL or lone UTF-16 surrogates.
func checkEscape(b []byte, i int) error {
	r, ok := hex4(b, i+2)
	if !ok {
		return nil // encoding/json reports the syntax error
	}
	switch {
	case r == 0:
		return vigil.Errorf(vigil.EMALFORMED, "strings must not contain NUL characters")
	case r >= 0xD800 && r < 0xDC00:
		if lo, ok := hex4(b, i+8); ok && i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' && lo >= 0xDC00 && lo < 0xE000 {
			return nil
		}
		return vigil.Errorf(vigil.EMALFORMED, "a string holds a lone UTF-16 surrogate escape")
	case r >= 0xDC00 && r < 0xE000:
		// A low surrogate is valid only right after a high one, which the
		// case above consumed by looking ahead; here it stands alone.
		if i >= 6 && b[i-6] == '\\' && b[i-5] == 'u' {
			if hi, ok := hex4(b, i-4); ok && hi >= 0xD800 && hi < 0xDC00 {
				return nil
			}
		}
		return vigil.Errorf(vigil.EMALFORMED, "a string holds a lone UTF-16 surrogate escape")
	}
	return nil
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// trailing data. Type errors name the field (422); syntax errors are 400.
func decodeStrict(body []byte, v any) error {
	// Every body the API takes is an object; null, in particular, would
	// decode into nothing and leave every field at its default.
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return vigil.Errorf(vigil.EMALFORMED, "the body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return vigil.Errorf(vigil.EMALFORMED, "the body holds more than one JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		return vigil.Errorf(vigil.EMALFORMED, "the body holds data after the JSON value")
	}
	return nil
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return vigil.Errorf(vigil.EMALFORMED, "invalid JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return vigil.Errorf(vigil.EMALFORMED, "the body must be a JSON object")
		}
		return vigil.Invalid(vigil.ErrorDetail{Field: field, Message: fmt.Sprintf("must be %s, not %s", jsonKind(typ.Type.String()), typ.Value)})
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return vigil.Errorf(vigil.EMALFORMED, "the body ends before the JSON value does")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return vigil.Invalid(vigil.ErrorDetail{Field: name, Message: "unknown field: an audit record must not silently lose data"})
	default:
		return vigil.Errorf(vigil.EMALFORMED, "invalid JSON: %v", err)
	}
}

func jsonKind(goType string) string {
	switch {
	case goType == "string" || goType == "api.Version":
		return "a string"
	case strings.HasPrefix(goType, "[]"):
		return "an array"
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "bool":
		return "a boolean"
	default:
		return "an object"
	}
}
