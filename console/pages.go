package console

import (
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	vhttp "github.com/vigilhq/vigil/http"
)

// pages holds one template set per page, each with the layout.
type pages struct{ sets map[string]*template.Template }

var pageNames = []string{"signin", "continue", "error", "dashboard", "events", "event", "patient", "session", "disclosures",
	"alerts", "alert", "reports", "ledger", "keys", "rules", "users", "viewer"}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	},
	"dash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
	"json": func(v any) string {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err.Error()
		}
		return string(b)
	},
	"indent": func(raw json.RawMessage) string {
		var buf bytes.Buffer
		if json.Indent(&buf, raw, "", "  ") != nil {
			return string(raw)
		}
		return buf.String()
	},
	"cell":        cellText,
	"reportTitle": reportTitle,
	"jobRow": func(j vigil.Report, kind, followed string) jobView {
		return jobView{Job: j, Kind: kind, Follow: j.ID == followed}
	},
	"hasRole": func(u vigil.User, roles ...string) bool {
		for _, r := range roles {
			if string(u.Role) == r {
				return true
			}
		}
		return false
	},
	"query": func(base string, v url.Values) string {
		if len(v) == 0 {
			return base
		}
		return base + "?" + v.Encode()
	},
}

func loadPages() (*pages, error) {
	p := &pages{sets: map[string]*template.Template{}}
	for _, name := range pageNames {
		files := []string{"templates/layout.html", "templates/" + name + ".html"}
		if name == "viewer" {
			files = []string{"templates/viewer.html"}
		}
		t, err := template.New("").Funcs(funcs).ParseFS(assets, files...)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		p.sets[name] = t
	}
	return p, nil
}

// jobView is one row of the reports page.
type jobView struct {
	Job    vigil.Report
	Kind   string // reports or exports, as in the paths
	Follow bool
}

// pageData is what every page's template gets.
type pageData struct {
	Title       string
	Nav         string // the active navigation entry
	User        *vigil.User
	CSRF        string
	IdleSeconds int
	Notice      string // a success message
	Error       string
	Data        any
}

// page fills in the signed-in user's part of a page's data.
func (c *Console) page(p *principal, title, nav string, data any) pageData {
	return pageData{Title: title, Nav: nav, User: &p.User, CSRF: p.csrf, IdleSeconds: int(c.cfg.IdleTimeout / time.Second), Data: data}
}

func (p *pages) render(w http.ResponseWriter, status int, name string, d pageData) {
	root := "layout"
	if name == "viewer" {
		root = "viewer"
	}
	var buf bytes.Buffer
	if err := p.sets[name].ExecuteTemplate(&buf, root, d); err != nil {
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if name == "viewer" {
		h.Set("Content-Security-Policy", viewerCSP)
	} else {
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("X-Frame-Options", "DENY")
	}
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// consoleCSP allows the console's own scripts and styles only: no inline
// script or style, no other origin, no framing.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

type errorData struct {
	Status  int
	Message string
	Details []vigil.ErrorDetail
}

// fail answers an error: JSON to scripts (background requests and .json
// paths), a page to people. The status is the API's for the code.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, p *principal, err error) {
	status, wire := vhttp.ErrorStatus(vigil.ErrorCode(err))
	msg := vigil.ErrorMessage(err)
	if status >= 500 {
		c.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if r.Header.Get(backgroundHeader) != "" || strings.HasSuffix(r.URL.Path, ".json") {
		details := vigil.ErrorDetails(err)
		if details == nil {
			details = []vigil.ErrorDetail{}
		}
		writeJSON(w, status, map[string]any{"error": wire, "message": msg, "details": details})
		return
	}
	d := pageData{Title: http.StatusText(status), Data: errorData{status, msg, vigil.ErrorDetails(err)}}
	if p != nil {
		d = c.page(p, http.StatusText(status), "", errorData{status, msg, vigil.ErrorDetails(err)})
	}
	c.pages.render(w, status, "error", d)
}

func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	p, _, err := c.current(r)
	if err != nil {
		c.fail(w, r, nil, err)
		return
	}
	c.fail(w, r, p, vigil.Errorf(vigil.ENOTFOUND, "no such page"))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func equalTokens(got, want string) bool { return got != "" && hmac.Equal([]byte(got), []byte(want)) }

// filled returns the values a form sent that are not empty, so shared
// URLs carry only the filters in use.
func filled(v url.Values, drop ...string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		skip := false
		for _, d := range drop {
			skip = skip || d == k
		}
		if !skip && len(vs) > 0 && vs[0] != "" {
			out[k] = vs
		}
	}
	return out
}

// flat joins query values into meta-audit parameters, as the API does.
func flat(v url.Values) map[string]string {
	out := map[string]string{}
	for k, vs := range v {
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// cellText prints one report cell.
func cellText(v any) string {
	switch x := v.(type) {
	case time.Time:
		if x.IsZero() {
			return "—"
		}
		return x.UTC().Format("2006-01-02 15:04:05 UTC")
	case string:
		if x == "" {
			return "—"
		}
		return x
	case nil:
		return "—"
	}
	return fmt.Sprint(v)
}
