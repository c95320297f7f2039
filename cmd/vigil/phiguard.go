package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vigilhq/vigil"
)

// phiFlags configure the PHI guard of vigil serve.
type phiFlags struct {
	mode     string
	file     string
	patterns filesFlag
}

func registerPHIFlags(fs *flag.FlagSet) *phiFlags {
	f := &phiFlags{}
	fs.StringVar(&f.mode, "phi-guard", string(vigil.PHIRefuse), "what to do with an event whose free text (actor and record names, metadata) looks like PHI: refuse (422 naming the field and pattern), flag (store it marked under metadata.vigil_phi, counted by vigil_phi_flagged_events_total) or off")
	fs.StringVar(&f.file, "phi-patterns", "", "a file of PHI patterns, one NAME=REGEX a line (# comments), applied to the defaults (ssn, phone, email, date_of_birth, mrn): a new name adds, a known name replaces, NAME= removes")
	fs.Var(&f.patterns, "phi-pattern", "a PHI pattern NAME=REGEX (repeatable), applied after --phi-patterns")
	return f
}

// guard builds the PHI guard; events it flags are counted in reg and
// logged by field and pattern name (never by what matched).
func (f *phiFlags) guard(reg prometheus.Registerer, logger *slog.Logger) (*vigil.PHIGuard, error) {
	mode, err := vigil.ParsePHIMode(f.mode)
	if err != nil {
		return nil, fmt.Errorf("--phi-guard: %v", err)
	}
	var specs []string
	if f.file != "" {
		b, err := os.ReadFile(f.file)
		if err != nil {
			return nil, fmt.Errorf("--phi-patterns: %v", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for line := 1; sc.Scan(); line++ {
			s := strings.TrimSpace(sc.Text())
			if s == "" || strings.HasPrefix(s, "#") {
				continue
			}
			if _, _, err := vigil.ParsePHIPattern(s); err != nil {
				return nil, fmt.Errorf("--phi-patterns %s:%d: %v", f.file, line, err)
			}
			specs = append(specs, s)
		}
	}
	patterns, err := vigil.WithPHIPatterns(vigil.DefaultPHIPatterns(), append(specs, f.patterns...))
	if err != nil {
		return nil, fmt.Errorf("--phi-pattern: %v", err)
	}
	flagged := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "vigil_phi_flagged_events_total",
		Help: "Events stored marked by the PHI guard (flag mode), by the pattern found in them."}, []string{"pattern"})
	if err := reg.Register(flagged); err != nil {
		return nil, err
	}
	for _, p := range patterns {
		flagged.WithLabelValues(p.Name) // every pattern's series exists from the start, at 0
	}
	return &vigil.PHIGuard{Mode: mode, Patterns: patterns, Flagged: func(ws string, found []vigil.PHIFinding) {
		seen := map[string]bool{}
		fields := make([]string, len(found))
		for i, x := range found {
			fields[i] = x.Field + ":" + x.Pattern
			if !seen[x.Pattern] {
				seen[x.Pattern] = true
				flagged.WithLabelValues(x.Pattern).Inc()
			}
		}
		logger.Warn("an event was stored flagged by the PHI guard", "workspace", ws, "fields", strings.Join(fields, ","))
	}}, nil
}
