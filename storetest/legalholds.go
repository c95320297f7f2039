package storetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// LegalHoldBackend is what RunLegalHolds exercises: legal holds and the
// retention policies they stand beside.
type LegalHoldBackend interface {
	vigil.LegalHolds
	vigil.RetentionStore
	EnsureWorkspace(ctx context.Context, name string) (bool, error)
	Close() error
}

// LegalHoldOpener opens a fresh, empty store; the suite closes it.
type LegalHoldOpener func(t *testing.T) LegalHoldBackend

// RunLegalHolds is the conformance suite of vigil.LegalHolds and
// vigil.RetentionStore.
func RunLegalHolds(t *testing.T, open LegalHoldOpener) {
	t.Run("CreateReadList", func(t *testing.T) { testHoldCreate(t, open) })
	t.Run("BadHold", func(t *testing.T) { testBadHold(t, open) })
	t.Run("Release", func(t *testing.T) { testHoldRelease(t, open) })
	t.Run("ReleaseRace", func(t *testing.T) { testHoldReleaseRace(t, open) })
	t.Run("Covers", func(t *testing.T) { testHoldCovers(t, open) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, open) })
}

func openHolds(t *testing.T, open LegalHoldOpener) LegalHoldBackend {
	t.Helper()
	s := open(t)
	t.Cleanup(func() { s.Close() })
	for _, n := range []string{"ws", "other"} {
		if _, err := s.EnsureWorkspace(ctx(t), n); err != nil {
			t.Fatalf("EnsureWorkspace(%q): %v", n, err)
		}
	}
	return s
}

var holdT0 = time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)

func mustHold(t *testing.T, s vigil.LegalHolds, h vigil.LegalHold) vigil.LegalHold {
	t.Helper()
	if h.Workspace == "" {
		h.Workspace = "ws"
	}
	if h.CreatedBy == "" {
		h.CreatedBy = "key_admin"
	}
	if h.CreatedAt.IsZero() {
		h.CreatedAt = holdT0
	}
	got, err := s.CreateLegalHold(ctx(t), h)
	if err != nil {
		t.Fatalf("CreateLegalHold(%+v): %v", h, err)
	}
	return got
}

func testHoldCreate(t *testing.T, open LegalHoldOpener) {
	s := openHolds(t, open)
	in := vigil.LegalHold{Workspace: "ws", TenantID: "t1", PatientID: "pt_42", From: holdT0.Add(-48 * time.Hour), To: holdT0,
		Reason: "Smith v. Clinic, 2030-CV-1", CreatedBy: "key_admin", CreatedAt: holdT0}
	a := mustHold(t, s, in)
	b := mustHold(t, s, vigil.LegalHold{TenantID: "t2", Reason: "audit by the state"})
	if a.ID == "" || a.ID == b.ID {
		t.Fatalf("ids %q %q", a.ID, b.ID)
	}
	got, err := s.LegalHold(ctx(t), "ws", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := in
	want.ID = a.ID
	if got != want || !got.Active() {
		t.Fatalf("read back\n%+v\nwant\n%+v", got, want)
	}
	list, err := s.LegalHoldsOf(ctx(t), "ws")
	if err != nil || len(list) != 2 || list[0].ID != a.ID || list[1].ID != b.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	// Workspaces are apart.
	if _, err := s.LegalHold(ctx(t), "other", a.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("another workspace's hold: %v", err)
	}
	if list, err := s.LegalHoldsOf(ctx(t), "other"); err != nil || len(list) != 0 {
		t.Fatalf("other workspace lists %+v %v", list, err)
	}
	if _, err := s.LegalHold(ctx(t), "ws", "0190b5a0-0000-7000-8000-000000000000"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("an unknown hold: %v", err)
	}
	if _, err := s.LegalHoldsOf(ctx(t), "nope"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("an unknown workspace: %v", err)
	}
}

func testBadHold(t *testing.T, open LegalHoldOpener) {
	s := openHolds(t, open)
	for name, c := range map[string]struct {
		h     vigil.LegalHold
		field string
	}{
		"no reason":      {vigil.LegalHold{TenantID: "t1"}, "reason"},
		"blank reason":   {vigil.LegalHold{TenantID: "t1", Reason: "  "}, "reason"},
		"reason lines":   {vigil.LegalHold{TenantID: "t1", Reason: "a\nb"}, "reason"},
		"covers nothing": {vigil.LegalHold{Reason: "r"}, "tenant_id"},
		"empty range":    {vigil.LegalHold{Reason: "r", From: holdT0, To: holdT0}, "to"},
		"bad tenant":     {vigil.LegalHold{Reason: "r", TenantID: "t\x00"}, "tenant_id"},
		"bad patient":    {vigil.LegalHold{Reason: "r", PatientID: strings.Repeat("p", vigil.MaxIDLength+1)}, "patient_id"},
	} {
		c.h.Workspace, c.h.CreatedBy, c.h.CreatedAt = "ws", "key_admin", holdT0
		_, err := s.CreateLegalHold(ctx(t), c.h)
		if ds := vigil.ErrorDetails(err); vigil.ErrorCode(err) != vigil.EINVALID || !slices.ContainsFunc(ds, func(d vigil.ErrorDetail) bool { return d.Field == c.field }) {
			t.Errorf("%s: %v %+v, want EINVALID naming %s", name, err, ds, c.field)
		}
	}
	if list, err := s.LegalHoldsOf(ctx(t), "ws"); err != nil || len(list) != 0 {
		t.Fatalf("a refused hold was stored: %+v %v", list, err)
	}
	if _, err := s.CreateLegalHold(ctx(t), vigil.LegalHold{Workspace: "nope", TenantID: "t", Reason: "r", CreatedBy: "k", CreatedAt: holdT0}); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a hold of an unknown workspace: %v", err)
	}
}

func testHoldRelease(t *testing.T, open LegalHoldOpener) {
	s := openHolds(t, open)
	h := mustHold(t, s, vigil.LegalHold{PatientID: "pt_1", Reason: "litigation"})
	if _, err := s.ReleaseLegalHold(ctx(t), "ws", h.ID, "key_2", " ", holdT0); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("a release without a reason: %v", err)
	}
	if _, err := s.ReleaseLegalHold(ctx(t), "other", h.ID, "key_2", "settled", holdT0); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a release from another workspace: %v", err)
	}
	at := holdT0.Add(time.Hour)
	r, err := s.ReleaseLegalHold(ctx(t), "ws", h.ID, "key_2", "the case settled", at)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.LegalHold(ctx(t), "ws", h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got != r || got.Active() || !got.ReleasedAt.Equal(at) || got.ReleasedBy != "key_2" || got.ReleaseReason != "the case settled" ||
		got.Reason != "litigation" || got.PatientID != "pt_1" {
		t.Fatalf("released hold %+v (returned %+v)", got, r)
	}
	if _, err := s.ReleaseLegalHold(ctx(t), "ws", h.ID, "key_3", "again", at); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("a second release: %v", err)
	}
	if again, _ := s.LegalHold(ctx(t), "ws", h.ID); again != got {
		t.Fatalf("a refused release changed the hold: %+v", again)
	}
	if c, err := s.Covers(ctx(t), "ws", vigil.HoldSubject{PatientID: "pt_1"}); err != nil || len(c) != 0 {
		t.Fatalf("a released hold still covers: %+v %v", c, err)
	}
}

func testHoldReleaseRace(t *testing.T, open LegalHoldOpener) {
	s := openHolds(t, open)
	h := mustHold(t, s, vigil.LegalHold{TenantID: "t1", Reason: "r"})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[string]int{}
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.ReleaseLegalHold(ctx(t), "ws", h.ID, "key_"+string(rune('a'+i)), "r", holdT0)
			mu.Lock()
			codes[vigil.ErrorCode(err)]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[""] != 1 || codes[vigil.ECONFLICT] != 7 {
		t.Fatalf("releases: %v, want one success and seven conflicts", codes)
	}
}

func testHoldCovers(t *testing.T, open LegalHoldOpener) {
	s := openHolds(t, open)
	day := 24 * time.Hour
	tenant := mustHold(t, s, vigil.LegalHold{TenantID: "t1", Reason: "tenant"})
	patient := mustHold(t, s, vigil.LegalHold{PatientID: "pt_1", Reason: "patient"})
	both := mustHold(t, s, vigil.LegalHold{TenantID: "t2", PatientID: "pt_2", Reason: "both"})
	march := mustHold(t, s, vigil.LegalHold{From: time.Date(2029, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2029, 4, 1, 0, 0, 0, 0, time.UTC), Reason: "range"})
	since := mustHold(t, s, vigil.LegalHold{TenantID: "t3", From: holdT0, Reason: "since"})
	mustHold(t, s, vigil.LegalHold{Workspace: "other", TenantID: "t1", PatientID: "pt_1", Reason: "other workspace"})
	month := func(y int, m time.Month) (time.Time, time.Time) {
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC), time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
	}
	feb0, feb1 := month(2029, 2)
	mar0, mar1 := month(2029, 3)
	for name, c := range map[string]struct {
		s    vigil.HoldSubject
		want []string
	}{
		"everything":              {vigil.HoldSubject{}, []string{tenant.ID, patient.ID, both.ID, march.ID, since.ID}},
		"tenant t1":               {vigil.HoldSubject{TenantID: "t1"}, []string{tenant.ID, patient.ID, march.ID}},
		"tenant t9":               {vigil.HoldSubject{TenantID: "t9"}, []string{patient.ID, march.ID}},
		"patient pt_1":            {vigil.HoldSubject{PatientID: "pt_1"}, []string{tenant.ID, patient.ID, march.ID, since.ID}},
		"patient pt_2 of t2":      {vigil.HoldSubject{TenantID: "t2", PatientID: "pt_2"}, []string{both.ID, march.ID}},
		"patient pt_2 of t1":      {vigil.HoldSubject{TenantID: "t1", PatientID: "pt_2"}, []string{tenant.ID, march.ID}},
		"patient pt_9 of t9, feb": {vigil.HoldSubject{TenantID: "t9", PatientID: "pt_9", From: feb0, To: feb1}, nil},
		"patient pt_9 of t9, mar": {vigil.HoldSubject{TenantID: "t9", PatientID: "pt_9", From: mar0, To: mar1}, []string{march.ID}},
		"t3 before the hold":      {vigil.HoldSubject{TenantID: "t3", To: holdT0}, []string{patient.ID, march.ID}},
		"t3 from the hold":        {vigil.HoldSubject{TenantID: "t3", From: holdT0.Add(-day), To: holdT0.Add(time.Nanosecond)}, []string{patient.ID, since.ID}},
		"march's last instant":    {vigil.HoldSubject{TenantID: "t9", PatientID: "x", From: mar1.Add(-time.Nanosecond), To: mar1.Add(day)}, []string{march.ID}},
		"right after march":       {vigil.HoldSubject{TenantID: "t9", PatientID: "x", From: mar1, To: mar1.Add(day)}, nil},
	} {
		got, err := s.Covers(ctx(t), "ws", c.s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var ids []string
		for _, h := range got {
			ids = append(ids, h.ID)
			if h.Reason == "" {
				t.Errorf("%s: a covering hold without its content: %+v", name, h)
			}
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%s: covered by %v, want %v", name, ids, c.want)
		}
	}
}

func testRetention(t *testing.T, open LegalHoldOpener) {
	s := openHolds(t, open)
	p, err := s.RetentionPolicy(ctx(t), "ws")
	if err != nil {
		t.Fatal(err)
	}
	if p != vigil.DefaultRetentionPolicy("ws") || p.Days != 2557 || !p.HIPAA || p.Set {
		t.Fatalf("default policy %+v", p)
	}
	for name, bad := range map[string]vigil.RetentionPolicy{
		"under six years":  {Workspace: "ws", Days: vigil.MinHIPAARetentionDays - 1, HIPAA: true},
		"zero":             {Workspace: "ws", Days: 0},
		"a thousand years": {Workspace: "ws", Days: 365_000},
	} {
		bad.UpdatedAt, bad.UpdatedBy = holdT0, "key_admin"
		_, err := s.SetRetentionPolicy(ctx(t), bad)
		if ds := vigil.ErrorDetails(err); vigil.ErrorCode(err) != vigil.EINVALID || len(ds) != 1 || ds[0].Field != "retention_days" {
			t.Errorf("%s: %v", name, err)
		}
	}
	if p, _ := s.RetentionPolicy(ctx(t), "ws"); p.Set {
		t.Fatalf("a refused policy was stored: %+v", p)
	}
	six := vigil.RetentionPolicy{Workspace: "ws", Days: vigil.MinHIPAARetentionDays, HIPAA: true, UpdatedAt: holdT0, UpdatedBy: "key_admin"}
	if _, err := s.SetRetentionPolicy(ctx(t), six); err != nil {
		t.Fatal(err)
	}
	short := vigil.RetentionPolicy{Workspace: "ws", Days: 365, HIPAA: false, UpdatedAt: holdT0.Add(time.Hour), UpdatedBy: "key_2"}
	if _, err := s.SetRetentionPolicy(ctx(t), short); err != nil {
		t.Fatalf("a workspace not subject to HIPAA: %v", err)
	}
	got, err := s.RetentionPolicy(ctx(t), "ws")
	short.Set = true
	if err != nil || got != short {
		t.Fatalf("policy %+v (%v), want %+v", got, err, short)
	}
	if p, _ := s.RetentionPolicy(ctx(t), "other"); p.Set || p.Days != vigil.DefaultRetentionDays {
		t.Fatalf("another workspace's policy changed: %+v", p)
	}
	if _, err := s.RetentionPolicy(ctx(t), "nope"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("an unknown workspace: %v", err)
	}
}
