package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDataFilesPrivate runs the server and the offline commands under a
// permissive umask, writes events, signs checkpoints, generates a report
// and an export, and stats every file Vigil wrote: files 0600 and
// directories 0700, while the server runs (the WAL and shared-memory
// files exist then) and after it stopped. A data directory left open to
// others is tightened, with a warning.
func TestDataFilesPrivate(t *testing.T) {
	bin := buildVigil(t)
	for _, c := range []struct {
		umask   string
		existed bool // the data directory exists, 0755, holding a 0644 database
	}{{"0022", false}, {"0000", true}} {
		t.Run("umask "+c.umask, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			out := t.TempDir() // the --out files' directory, the test's own
			os.Chmod(out, 0o700)
			umasked := func(args ...string) *exec.Cmd {
				return exec.Command("sh", append([]string{"-c", "umask " + c.umask + ` && exec "$@"`, "sh", bin}, args...)...)
			}
			if c.existed {
				os.Mkdir(data, 0o755)
				os.Chmod(data, 0o755)
				f, err := os.OpenFile(filepath.Join(data, dbFile), os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					t.Fatal(err)
				}
				f.Close()
				os.Chmod(filepath.Join(data, dbFile), 0o644)
			}
			addr := freeAddr(t)
			srv := startServe(t, umasked("serve", "--data", data, "--addr", addr, "--checkpoint-interval", "50ms"), addr)
			if c.existed {
				log := srv.stderr.String()
				if !strings.Contains(log, "made the data directory private") || !strings.Contains(log, `"was":"0755"`) ||
					!strings.Contains(log, "made a database file private") {
					t.Errorf("no warning for the directory and database left open:\n%s", log)
				}
			}
			key := func(role string) string {
				out, err := umasked("keys", "create", "--data", data, "--role", role).Output()
				if err != nil || !keyLine.MatchString(lastLineOf(out)) {
					t.Fatalf("keys create: %v %s", err, out)
				}
				return lastLineOf(out)
			}
			ingest, auditor := key("ingest"), key("auditor")
			base := "http://" + addr + "/api/v1"
			for i := range 20 {
				status, body := curl(t, "-X", "POST", base+"/events", "-H", "Authorization: Bearer "+ingest, "-H", "Content-Type: application/json",
					"-d", `{"actor_id":"dr_`+string(rune('a'+i))+`","action":"patient_record.viewed","patient_id":"pt_1"}`)
				if status != 201 {
					t.Fatalf("POST: %d %s", status, body)
				}
			}
			time.Sleep(200 * time.Millisecond) // a checkpoint is signed
			job := func(path, body string) {
				t.Helper()
				status, resp := curl(t, "-X", "POST", base+path, "-H", "Authorization: Bearer "+auditor, "-H", "Content-Type: application/json", "-d", body)
				var j struct {
					Data struct{ ID, Status string } `json:"data"`
				}
				if status != 202 || json.Unmarshal([]byte(resp), &j) != nil {
					t.Fatalf("POST %s: %d %s", path, status, resp)
				}
				deadline := time.Now().Add(20 * time.Second)
				for j.Data.Status != "completed" {
					if time.Now().After(deadline) || j.Data.Status == "failed" {
						t.Fatalf("%s %s: %s", path, j.Data.ID, resp)
					}
					time.Sleep(50 * time.Millisecond)
					_, resp = curl(t, base+path+"/"+j.Data.ID, "-H", "Authorization: Bearer "+auditor)
					json.Unmarshal([]byte(resp), &j)
				}
				if status, _ := curl(t, "-o", os.DevNull, base+path+"/"+j.Data.ID+"/download", "-H", "Authorization: Bearer "+auditor); status != 200 {
					t.Fatalf("download %s: %d", path, status)
				}
			}
			job("/reports", `{"type":"patient_access","params":{"patient_id":"pt_1"},"format":"pdf"}`)
			job("/exports", `{"format":"ndjson"}`)
			job("/exports", `{"format":"parquet"}`)
			for _, args := range [][]string{
				{"report", "patient_access", "--data", data, "--patient-id", "pt_1", "--format", "csv", "--out", filepath.Join(out, "r.csv")},
				{"export", "--data", data, "--format", "csv", "--out", filepath.Join(out, "e.csv")},
				{"ledger", "export", "--data", data, "--out", filepath.Join(out, "bundle.json")},
			} {
				if b, err := umasked(args...).CombinedOutput(); err != nil {
					t.Fatalf("%v: %v %s", args, err, b)
				}
			}
			names := wantPrivate(t, data)
			for _, want := range []string{dbFile, dbFile + "-wal", dbFile + "-shm", keyFile, witnessFile, reportsSecret, reportsDir} {
				if !names[want] {
					t.Errorf("no %s among %v", want, names)
				}
			}
			srv.stop(t)
			wantPrivate(t, data)
			wantPrivate(t, out)
		})
	}
}

// wantPrivate fails for every file under dir that is not 0600 and every
// directory that is not 0700, and returns the names it saw.
func wantPrivate(t *testing.T, dir string) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		names[rel] = true
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", rel, fi.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}
