package http_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestOpenAPILint lints the OpenAPI document with a standard linter,
// Redocly CLI's recommended rules, and fails on any error or warning:
// client generators need every operationId, and callers every 4xx answer
// an operation gives. .ci/run installs the linter (.ci/package.json).
func TestOpenAPILint(t *testing.T) {
	bin, err := filepath.Abs("../.ci/node_modules/.bin/redocly")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("the OpenAPI linter is not installed (%v): run `npm install --prefix .ci --no-package-lock` in the repository, as .ci/run does", err)
	}
	cmd := exec.Command(bin, "lint", "openapi.json", "--extends", "recommended", "--format", "json")
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Totals struct {
			Errors   int `json:"errors"`
			Warnings int `json:"warnings"`
		} `json:"totals"`
		Problems []struct {
			RuleID   string `json:"ruleId"`
			Severity string `json:"severity"`
			Message  string `json:"message"`
			Location []struct {
				Pointer string `json:"pointer"`
			} `json:"location"`
		} `json:"problems"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("redocly lint: %v (%v)\n%s\n%s", runErr, err, stdout.String(), stderr.String())
	}
	for _, p := range out.Problems {
		where := ""
		if len(p.Location) > 0 {
			where = p.Location[0].Pointer
		}
		t.Errorf("%s %s at %s: %s", p.Severity, p.RuleID, where, p.Message)
	}
	if out.Totals.Errors+out.Totals.Warnings != 0 || runErr != nil {
		t.Fatalf("openapi.json: %d errors, %d warnings (%v)", out.Totals.Errors, out.Totals.Warnings, runErr)
	}
}
