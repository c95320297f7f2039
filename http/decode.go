package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/vigilhq/vigil"
)

// readBody reads a JSON request body of at most limit bytes and checks
// what encoding/json would otherwise let through silently: invalid UTF-8
// and lone surrogate escapes (both become U+FFFD), and nesting deeper
// than vigil.MaxJSONDepth.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return nil, &vigil.Error{Code: vigil.EMALFORMED, Message: "Content-Type must be application/json"}
		}
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

// checkJSONText scans a body once for the problems encoding/json hides.
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		return vigil.Errorf(vigil.EMALFORMED, "the body is not valid UTF-8")
	}
	depth, inString := 0, false
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
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > vigil.MaxJSONDepth {
				return vigil.Errorf(vigil.EMALFORMED, "JSON nesting exceeds %d levels", vigil.MaxJSONDepth)
			}
		case '}', ']':
			depth--
		}
	}
	return nil
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
