package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	vreport "github.com/vigilhq/vigil/report"
)

// runReport computes a compliance report offline, on the data directory,
// at its latest signed checkpoint.
func runReport(ctx context.Context, env *Env, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprintf(env.Stderr, "usage: vigil report TYPE --data DIR [params] --format pdf|csv|json --out FILE\ntypes: %s\n", strings.Join(vigil.ReportTypes, ", "))
		return errUsage
	}
	typ := args[0]
	fs := newFlags(env, "report "+typ)
	data := fs.String("data", "./vigil-data", "data directory")
	ws := fs.String("workspace", defaultWS, "workspace")
	tenant := fs.String("tenant", "", "confine the report to one tenant")
	format := fs.String("format", "pdf", "pdf, csv or json")
	out := fs.String("out", "", "file to write (required)")
	params := map[string]*string{}
	for _, p := range []struct{ name, usage string }{
		{"from", "start of the period (RFC 3339 or YYYY-MM-DD), inclusive"},
		{"to", "end of the period, exclusive"},
		{"patient-id", "the patient (patient_access, disclosures)"},
		{"resource", "the record's resource type (patient_access)"},
		{"resource-id", "the record (patient_access)"},
		{"session-id", "the session (session)"},
		{"actor-id", "the actor (user_activity)"},
		{"timezone", "off_hours: IANA time zone"},
		{"start-hour", "off_hours: first off-hours hour, 0-23"},
		{"end-hour", "off_hours: first working hour, 0-23"},
		{"days", "off_hours: comma-separated closed days (sat,sun)"},
		{"action-pattern", "off_hours: actions to consider ('*' wildcards)"},
	} {
		params[p.name] = fs.String(p.name, "", p.usage)
	}
	if err := parse(env, fs, args[1:]); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	raw, err := reportParams(fs, params)
	if err != nil {
		return err
	}
	job := vigil.Report{Workspace: *ws, TenantScope: *tenant, CreatedBy: "cli", Kind: vigil.KindReport, Type: typ, Params: raw, Format: *format}
	return generateOffline(ctx, env, *data, *out, job)
}

// reportParams turns the flags given into the request's params object.
func reportParams(fs *flag.FlagSet, params map[string]*string) (json.RawMessage, error) {
	m := map[string]any{}
	var err error
	fs.Visit(func(f *flag.Flag) {
		v, ok := params[f.Name]
		if !ok {
			return
		}
		name := strings.ReplaceAll(f.Name, "-", "_")
		switch f.Name {
		case "start-hour", "end-hour":
			var n int
			if _, serr := fmt.Sscan(*v, &n); serr != nil {
				err = fmt.Errorf("--%s: must be an hour, 0-23", f.Name)
			}
			m[name] = n
		case "days":
			m[name] = strings.Split(*v, ",")
		default:
			m[name] = *v
		}
	})
	b, _ := json.Marshal(m)
	return b, err
}

// runExport writes an export of events offline.
func runExport(ctx context.Context, env *Env, args []string) error {
	fs := newFlags(env, "export")
	data := fs.String("data", "./vigil-data", "data directory")
	ws := fs.String("workspace", defaultWS, "workspace")
	tenant := fs.String("tenant", "", "confine the export to one tenant")
	format := fs.String("format", "csv", "csv, ndjson or parquet")
	out := fs.String("out", "", "file to write (required)")
	var f vreport.Filters
	fs.StringVar(&f.From, "from", "", "occurred_at from (inclusive)")
	fs.StringVar(&f.To, "to", "", "occurred_at to (exclusive)")
	fs.StringVar(&f.ActorID, "actor-id", "", "actor")
	fs.StringVar(&f.Action, "action", "", "action, '*' wildcards")
	fs.StringVar(&f.Resource, "resource", "", "resource type")
	fs.StringVar(&f.TenantID, "tenant-id", "", "tenant filter")
	fs.StringVar(&f.SessionID, "session-id", "", "session")
	fs.StringVar(&f.Search, "search", "", "substring of names, action and resource")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if *out == "" {
		return errors.New("--out is required")
	}
	filters, _ := json.Marshal(f)
	job := vigil.Report{Workspace: *ws, TenantScope: *tenant, CreatedBy: "cli", Kind: vigil.KindExport, Params: filters, Format: *format}
	return generateOffline(ctx, env, *data, *out, job)
}

// generateOffline validates a job and writes its file, on a data directory
// beside a possibly running server: it reads only, at the latest
// checkpoint the server signed, and records nothing (see
// docs/decisions.md: file-system access is not an audited read).
func generateOffline(ctx context.Context, env *Env, data, out string, job vigil.Report) error {
	d, err := openData(ctx, data, offlineData(env))
	if err != nil {
		return err
	}
	defer d.close()
	if err := vreport.Prepare(ctx, &job, time.Now(), vreport.RuleOffHours(d.db)); err != nil {
		return explain(err)
	}
	cp, err := vreport.Latest(ctx, d.db, job.Workspace)
	if err != nil {
		return err
	}
	n, size, sum, err := vreport.WriteFile(out, func(w io.Writer) (int64, error) {
		return vreport.Generate(ctx, d.db, job, cp, d.verifierKey, w, time.Now())
	})
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(env.Stdout, "wrote %s: %s %s, %d rows, %d bytes, sha256 %s, at checkpoint %s size %d root %s\n",
		out, job.Kind, job.Type, n, size, sum, cp.Origin, cp.Size, cp.Root)
	return nil
}

// explain spells out a validation error's fields for the command line.
func explain(err error) error {
	ds := vigil.ErrorDetails(err)
	if len(ds) == 0 {
		return err
	}
	var b strings.Builder
	b.WriteString(vigil.ErrorMessage(err))
	for _, d := range ds {
		b.WriteString("\n  " + d.Field + ": " + d.Message)
	}
	return errors.New(b.String())
}
