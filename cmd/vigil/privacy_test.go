package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil/crypt"
)

// markers are the values sent in every identifying field; none may be
// found in any file of the data directory, in any case or encoding.
var markers = map[string]string{
	"actor_id":        "MrkActorQz71",
	"actor_name":      "MrkActorNameQz72",
	"patient_id":      "MrkPatientQz73",
	"resource_id":     "MrkResourceQz74",
	"resource_name":   "MrkResourceNameQz75",
	"target_id":       "MrkTargetQz76",
	"target_name":     "MrkTargetNameQz77",
	"metadata":        "MrkMetadataQz78",
	"session_id":      "MrkSessionQz79",
	"user_agent":      "MrkAgentQz80",
	"idempotency_key": "MrkIdemQz81",
	"target_meta":     "MrkTargetMetaQz82",
	"fhir_who":        "MrkFhirWhoQz83",
	"fhir_name":       "MrkFhirNameQz84",
	"fhir_patient":    "MrkFhirPatientQz85",
	"seed_who":        "MrkSeedWhoQz86",
	"seed_name":       "MrkSeedNameQz87",
	"ip":              "203.0.113.197",
	"fhir_ip":         "198.51.100.183",
	"seed_ip":         "192.0.2.211",
}

func TestDataDirectoryHoldsNoIdentifyingValue(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")
	if fi, err := os.Stat(filepath.Join(data, kekFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("kek.key was not created 0600 on the first start: %v %v", fi, err)
	}
	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--verify-rate", "0"), addr)
	base := "http://" + addr
	m := markers
	event := func(i int) map[string]any {
		return map[string]any{
			"actor_id": m["actor_id"], "actor_name": m["actor_name"], "action": "patient.record.viewed",
			"resource": "MedicalRecord", "resource_id": m["resource_id"], "resource_name": m["resource_name"],
			"patient_id": m["patient_id"], "session_id": m["session_id"], "user_agent": m["user_agent"],
			"ip_address": m["ip"], "metadata": map[string]any{"note": m["metadata"]},
			"idempotency_key": fmt.Sprintf("%s-%d", m["idempotency_key"], i),
			"targets": []map[string]any{{"type": "Document", "id": m["target_id"], "name": m["target_name"],
				"metadata": map[string]any{"x": m["target_meta"]}}},
		}
	}
	post := func(path, contentType string, body any) {
		t.Helper()
		b, _ := json.Marshal(body)
		code, out := curl(t, "-X", "POST", "-H", "Authorization: Bearer "+ingest, "-H", "Content-Type: "+contentType, "--data-binary", string(b), base+path)
		if code != 201 && code != 200 {
			t.Fatalf("POST %s: %d %s", path, code, out)
		}
	}
	post("/api/v1/events", "application/json", event(0))
	post("/api/v1/events/batch", "application/json", map[string]any{"events": []any{event(1), event(2)}})
	post("/fhir/R4/AuditEvent", "application/fhir+json", map[string]any{
		"resourceType": "AuditEvent", "type": map[string]any{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110110"},
		"action": "R", "recorded": "2024-06-15T08:30:00Z", "outcome": "0",
		"agent": []any{map[string]any{"who": map[string]any{"reference": "Practitioner/" + m["fhir_who"], "display": m["fhir_name"]},
			"requestor": true, "network": map[string]any{"address": m["fhir_ip"], "type": "2"}}},
		"source": map[string]any{"observer": map[string]any{"display": "EHR"}},
		"entity": []any{map[string]any{"what": map[string]any{"reference": "Patient/" + m["fhir_patient"]}}},
	})
	post("/api/v1/audit-events", "application/json", map[string]any{
		"type": "login", "action": "E", "recorded": "2024-06-15T08:30:00Z", "outcome": "0",
		"agent":  []any{map[string]any{"who": m["seed_who"], "name": m["seed_name"], "requestor": true, "role": "Nurse", "networkAddress": m["seed_ip"]}},
		"source": map[string]any{"observer": "Authentication Service", "site": "Cloud"},
	})

	// Queries through the blind indexes answer exactly.
	count := func(query string) int {
		t.Helper()
		var page struct {
			Data []struct {
				PatientID  string `json:"patient_id"`
				ActorName  string `json:"actor_name"`
				ResourceID string `json:"resource_id"`
			} `json:"data"`
		}
		if err := getJSON(client(), base+"/api/v1/events?"+query, auditor, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Data {
			if strings.Contains(query, "patient_id") && (e.PatientID != m["patient_id"] || e.ActorName != m["actor_name"]) {
				t.Errorf("%s: an event reads back as %+v", query, e)
			}
		}
		return len(page.Data)
	}
	for q, want := range map[string]int{
		"patient_id=" + m["patient_id"]: 3, "resource_id=" + m["resource_id"]: 3, "actor_id=" + m["actor_id"]: 3,
		"session_id=" + m["session_id"]: 3, "target_id=" + m["target_id"]: 3, "patient_id=" + m["patient_id"] + "x": 0,
		"patient_id=" + strings.ToLower(m["patient_id"]): 0, "actor_id=" + m["seed_who"]: 1, "search=" + m["actor_id"]: 3,
	} {
		if got := count(q); got != want {
			t.Errorf("GET /api/v1/events?%s: %d events, want %d", q, got, want)
		}
	}
	var bundle struct {
		Total int `json:"total"`
	}
	if err := getJSON(client(), base+"/fhir/R4/AuditEvent?patient=Patient/"+m["fhir_patient"], auditor, &bundle); err != nil {
		t.Fatal(err)
	}
	if bundle.Total != 1 {
		t.Errorf("FHIR search by patient: %d events, want 1", bundle.Total)
	}
	var v struct {
		Data struct {
			Valid bool `json:"valid"`
		} `json:"data"`
	}
	if err := getJSON(client(), base+"/api/v1/verify", auditor, &v); err != nil || !v.Data.Valid {
		t.Errorf("the ledger does not verify: %v %+v", err, v)
	}
	grepData(t, data) // while running: the WAL and shared memory are there
	srv.stop(t)
	grepData(t, data)
	// The control: what is in clear is found, so the search reads what
	// the store wrote.
	found := false
	filepath.WalkDir(filepath.Join(data, logDir), func(p string, d fs.DirEntry, err error) error {
		if b, rerr := os.ReadFile(p); err == nil && !d.IsDir() && rerr == nil && bytes.Contains(b, []byte("patient.record.viewed")) {
			found = true
		}
		return err
	})
	if !found {
		t.Fatal("the log segments do not hold the action sent in clear: the search does not read the store's files")
	}

	// The offline verifier checks the sealed leaves without any key.
	bundlePath := filepath.Join(t.TempDir(), "log.bundle")
	if out, err := exec.Command(bin, "ledger", "export", "--data", data, "--out", bundlePath).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	vkey, err := exec.Command(bin, "ledger", "key", "--data", data).Output()
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "verify", "--bundle", bundlePath, "--key", strings.TrimSpace(string(vkey))).CombinedOutput(); err != nil {
		t.Errorf("offline verification failed: %v\n%s", err, out)
	}
	grepFile(t, bundlePath)
}

// grepData fails for any marker found in any file under dir.
func grepData(t *testing.T, dir string) {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		grepFile(t, p)
		n++
		return nil
	})
	if n < 4 {
		t.Fatalf("only %d files under %s", n, dir)
	}
}

func grepFile(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	lower := bytes.ToLower(b)
	for field, mk := range markers {
		for _, form := range encodings(mk) {
			if bytes.Contains(lower, bytes.ToLower([]byte(form))) {
				t.Errorf("%s holds the %s marker (as %q)", p, field, form)
			}
		}
	}
}

// encodings are the forms a value could be stored in: as it is, in hex,
// and in base64 (standard and URL) at each of the three alignments.
func encodings(v string) []string {
	out := []string{v, hex.EncodeToString([]byte(v))}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for off := range 3 {
			s := enc.EncodeToString([]byte(strings.Repeat("\x00", off) + v))
			s = s[(off*4+2)/3:]
			out = append(out, s[:len(s)-4])
		}
	}
	return out
}

func TestWrongOrMissingKEKIsRefusedAndChangesNothing(t *testing.T) {
	bin := buildVigil(t)
	data := filepath.Join(t.TempDir(), "data")
	ingest, auditor := cliKey(t, bin, data, "ingest"), cliKey(t, bin, data, "auditor")
	addr := freeAddr(t)
	srv := startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr), addr)
	ids, err := sendEvents(client(), "http://"+addr, ingest, []string{"key1", "key2", "key3"})
	if err != nil {
		t.Fatal(err)
	}
	srv.stop(t)

	wrong := filepath.Join(t.TempDir(), "wrong.key")
	key, _ := crypt.NewKey()
	if err := crypt.WriteKEKFile(wrong, key); err != nil {
		t.Fatal(err)
	}
	before := digestDir(t, data)
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong", []string{"--kek-file", wrong}, "not by the configured"},
		{"missing", []string{"--kek-file", filepath.Join(t.TempDir(), "none.key")}, "does not exist"},
	} {
		out, err := exec.Command(bin, append([]string{"serve", "--data", data, "--addr", freeAddr(t)}, c.args...)...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), c.want) {
			t.Errorf("%s KEK: serve did not refuse with %q: %v\n%s", c.name, c.want, err, out)
		}
		if after := digestDir(t, data); after != before {
			t.Errorf("%s KEK: the data directory changed:\nbefore %s\nafter  %s", c.name, before, after)
		}
	}
	os.Rename(filepath.Join(data, kekFile), filepath.Join(data, "moved.key"))
	if out, err := exec.Command(bin, "serve", "--data", data, "--addr", freeAddr(t)).CombinedOutput(); err == nil || !strings.Contains(string(out), "does not exist") {
		t.Errorf("kek.key removed: serve did not refuse: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(data, kekFile)); err == nil {
		t.Errorf("a new kek.key was made for a data directory that holds data keys")
	}
	os.Rename(filepath.Join(data, "moved.key"), filepath.Join(data, kekFile))

	// Rotation re-wraps the data keys; the events are read the same and
	// verify under the new KEK, and the old one no longer opens them.
	next := filepath.Join(t.TempDir(), "next.key")
	out, err := exec.Command(bin, "keys", "rotate-kek", "--data", data, "--new-kek-file", next).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Re-wrapped 2 data keys") {
		t.Fatalf("rotate-kek: %v\n%s", err, out)
	}
	if out, err := exec.Command(bin, "serve", "--data", data, "--addr", freeAddr(t)).CombinedOutput(); err == nil || !strings.Contains(string(out), "not by the configured") {
		t.Errorf("after rotation the old KEK still opens the store: %v\n%s", err, out)
	}
	addr = freeAddr(t)
	srv = startServe(t, exec.Command(bin, "serve", "--data", data, "--addr", addr, "--kek-file", next), addr)
	defer srv.stop(t)
	var page struct {
		Data []struct {
			ID        string `json:"id"`
			PatientID string `json:"patient_id"`
		} `json:"data"`
	}
	if err := getJSON(client(), "http://"+addr+"/api/v1/events?patient_id=pt_key", auditor, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 3 || page.Data[2].ID != ids[0] || page.Data[0].PatientID != "pt_key" {
		t.Errorf("after rotation the events read %+v, want the 3 of ids %v", page.Data, ids)
	}
	var v struct {
		Data struct {
			Valid         bool  `json:"valid"`
			EventsChecked int64 `json:"events_checked"`
		} `json:"data"`
	}
	if err := getJSON(client(), "http://"+addr+"/api/v1/verify", auditor, &v); err != nil || !v.Data.Valid || v.Data.EventsChecked < 3 {
		t.Errorf("after rotation the ledger does not verify: %v %+v", err, v)
	}
}

// digestDir hashes every file under dir with its name.
func digestDir(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %x\n", p, sha256.Sum256(b))
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

func client() *nethttp.Client { return &nethttp.Client{Timeout: 10 * time.Second} }
