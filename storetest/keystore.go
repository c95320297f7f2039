package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// KeyBackend is what RunKeys exercises: workspaces and API keys.
type KeyBackend interface {
	vigil.KeyStore
	Close() error
}

// KeyOpener opens a fresh, empty store whose clock is now; the suite
// closes it.
type KeyOpener func(t *testing.T, now func() time.Time) KeyBackend

// RunKeys is the conformance suite of vigil.KeyStore.
func RunKeys(t *testing.T, open KeyOpener) {
	t.Run("Workspaces", func(t *testing.T) { testWorkspaces(t, open) })
	t.Run("BadWorkspaceNames", func(t *testing.T) { testBadWorkspaceNames(t, open) })
	t.Run("CreateAndRead", func(t *testing.T) { testKeyCreateAndRead(t, open) })
	t.Run("Order", func(t *testing.T) { testKeyOrder(t, open) })
	t.Run("BadKey", func(t *testing.T) { testBadKey(t, open) })
	t.Run("Revoke", func(t *testing.T) { testKeyRevoke(t, open) })
	t.Run("Isolation", func(t *testing.T) { testKeyIsolation(t, open) })
}

func openKeys(t *testing.T, open KeyOpener) (KeyBackend, *Clock) {
	t.Helper()
	c := NewClock()
	s := open(t, c.Now)
	t.Cleanup(func() { s.Close() })
	return s, c
}

// storedKey makes a key of a workspace with a fresh secret and stores it.
func storedKey(t *testing.T, s vigil.KeyStore, ws, id, tenant string, role vigil.Role, created time.Time) (vigil.APIKey, string) {
	t.Helper()
	secret := vigil.NewKeySecret()
	k := vigil.APIKey{ID: id, Workspace: ws, TenantID: tenant, Role: role, Name: "key " + id, Hint: vigil.KeyHint(secret), CreatedAt: created}
	if err := s.CreateKey(ctx(t), k, vigil.HashKey(secret)); err != nil {
		t.Fatalf("CreateKey(%s): %v", id, err)
	}
	return k, secret
}

func sameKey(t *testing.T, what string, got, want vigil.APIKey) {
	t.Helper()
	if got.ID != want.ID || got.Workspace != want.Workspace || got.TenantID != want.TenantID || got.Role != want.Role ||
		got.Name != want.Name || got.Hint != want.Hint || !got.CreatedAt.Equal(want.CreatedAt) || !got.RevokedAt.Equal(want.RevokedAt) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

// testWorkspaces: EnsureWorkspace says whether it created the workspace,
// and a workspace is there for keys only once ensured.
func testWorkspaces(t *testing.T, open KeyOpener) {
	s, c := openKeys(t, open)
	if _, err := s.Keys(ctx(t), "ws"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("Keys of a workspace never made: %v, want %s", err, vigil.ENOTFOUND)
	}
	k := vigil.APIKey{ID: "key_early", Workspace: "ws", Role: vigil.RoleIngest, Hint: "vgl_abcdef", CreatedAt: c.Now()}
	wantCode(t, s.CreateKey(ctx(t), k, vigil.HashKey(vigil.NewKeySecret())), vigil.ENOTFOUND)
	for i, want := range []bool{true, false, false} {
		created, err := s.EnsureWorkspace(ctx(t), "ws")
		if err != nil || created != want {
			t.Fatalf("EnsureWorkspace #%d = %v %v, want %v", i+1, created, err, want)
		}
	}
	if created, err := s.EnsureWorkspace(ctx(t), "WS"); err != nil || !created {
		t.Fatalf("EnsureWorkspace(WS) = %v %v: names are case-sensitive", created, err)
	}
	keys, err := s.Keys(ctx(t), "ws")
	if err != nil || len(keys) != 0 {
		t.Fatalf("Keys of a new workspace = %+v %v, want none", keys, err)
	}
}

// testBadWorkspaceNames: names that cannot be a workspace are refused with
// EINVALID naming the field, and no workspace is made.
func testBadWorkspaceNames(t *testing.T, open KeyOpener) {
	s, c := openKeys(t, open)
	for _, name := range []string{"", "   ", "a/b", "tab\there", "nul\x00", strings.Repeat("w", vigil.MaxWorkspaceLength+1)} {
		created, err := s.EnsureWorkspace(ctx(t), name)
		if vigil.ErrorCode(err) != vigil.EINVALID || created {
			t.Fatalf("EnsureWorkspace(%q) = %v %v, want %s", name, created, err, vigil.EINVALID)
		}
		if d := vigil.ErrorDetails(err); len(d) != 1 || d[0].Field != "workspace" {
			t.Fatalf("EnsureWorkspace(%q) details %+v, want one on workspace", name, d)
		}
		k := vigil.APIKey{ID: "key_x", Workspace: name, Role: vigil.RoleIngest, Hint: "vgl_abcdef", CreatedAt: c.Now()}
		if err := s.CreateKey(ctx(t), k, vigil.HashKey(vigil.NewKeySecret())); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("CreateKey in refused workspace %q: %v, want %s", name, err, vigil.ENOTFOUND)
		}
	}
	if created, err := s.EnsureWorkspace(ctx(t), strings.Repeat("w", vigil.MaxWorkspaceLength)); err != nil || !created {
		t.Fatalf("EnsureWorkspace of the longest name = %v %v", created, err)
	}
}

// testKeyCreateAndRead: a key reads back exactly, by its hash only.
func testKeyCreateAndRead(t *testing.T, open KeyOpener) {
	s, c := openKeys(t, open)
	ensure(t, s, "ws")
	k, secret := storedKey(t, s, "ws", "key_0001", "tenant-1", vigil.RoleAuditor, c.Now())
	got, err := s.KeyByHash(ctx(t), vigil.HashKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, "KeyByHash", got, k)
	if got.Revoked() {
		t.Fatal("a new key is revoked")
	}
	u, _ := storedKey(t, s, "ws", "key_0002", "", vigil.RoleIngest, c.Advance(time.Second))
	keys, err := s.Keys(ctx(t), "ws")
	if err != nil || len(keys) != 2 {
		t.Fatalf("Keys = %+v %v", keys, err)
	}
	sameKey(t, "Keys[0]", keys[0], k)
	sameKey(t, "Keys[1]", keys[1], u)
	for _, bad := range [][]byte{vigil.HashKey(vigil.NewKeySecret()), vigil.HashKey(secret)[:16], nil} {
		if _, err := s.KeyByHash(ctx(t), bad); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
			t.Fatalf("KeyByHash(%x) = %v, want %s", bad, err, vigil.EUNAUTHORIZED)
		}
	}
}

// testKeyOrder: Keys lists oldest first, whatever the order of the ids.
func testKeyOrder(t *testing.T, open KeyOpener) {
	s, c := openKeys(t, open)
	ensure(t, s, "ws")
	base := c.Now()
	ids := []string{"key_c", "key_a", "key_d", "key_b"}
	offsets := []time.Duration{2, 0, 3, 1}
	for i, id := range ids {
		storedKey(t, s, "ws", id, "", vigil.RoleIngest, base.Add(offsets[i]*time.Second))
	}
	keys, err := s.Keys(ctx(t), "ws")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, k.ID)
	}
	if strings.Join(got, ",") != "key_a,key_b,key_c,key_d" {
		t.Fatalf("Keys order %v, want key_a,key_b,key_c,key_d", got)
	}
}

// testBadKey: a key with a role keys cannot have is refused with EINVALID
// and nothing is stored.
func testBadKey(t *testing.T, open KeyOpener) {
	s, c := openKeys(t, open)
	ensure(t, s, "ws")
	for _, role := range []vigil.Role{"root", "", vigil.RolePrivacyOfficer} {
		secret := vigil.NewKeySecret()
		k := vigil.APIKey{ID: "key_bad", Workspace: "ws", Role: role, Hint: vigil.KeyHint(secret), CreatedAt: c.Now()}
		err := s.CreateKey(ctx(t), k, vigil.HashKey(secret))
		if vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("CreateKey with role %q: %v, want %s", role, err, vigil.EINVALID)
		}
		if _, err := s.KeyByHash(ctx(t), vigil.HashKey(secret)); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
			t.Fatalf("the refused key (role %q) authenticates: %v", role, err)
		}
	}
	if keys, err := s.Keys(ctx(t), "ws"); err != nil || len(keys) != 0 {
		t.Fatalf("Keys after refusals = %+v %v", keys, err)
	}
}

// testKeyRevoke: revoking stamps the store's time once; the key still
// reads back (so its use can be refused and recorded), and other keys are
// untouched.
func testKeyRevoke(t *testing.T, open KeyOpener) {
	s, c := openKeys(t, open)
	ensure(t, s, "ws")
	k, secret := storedKey(t, s, "ws", "key_1", "", vigil.RoleAdmin, c.Now())
	other, otherSecret := storedKey(t, s, "ws", "key_2", "", vigil.RoleAdmin, c.Now())
	if _, err := s.RevokeKey(ctx(t), "ws", "key_none"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("RevokeKey of no key: %v, want %s", err, vigil.ENOTFOUND)
	}
	at := c.Advance(time.Minute)
	r, err := s.RevokeKey(ctx(t), "ws", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	k.RevokedAt = at
	sameKey(t, "RevokeKey", r, k)
	c.Advance(time.Hour)
	again, err := s.RevokeKey(ctx(t), "ws", k.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, "second RevokeKey", again, k)
	got, err := s.KeyByHash(ctx(t), vigil.HashKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, "revoked KeyByHash", got, k)
	got, err = s.KeyByHash(ctx(t), vigil.HashKey(otherSecret))
	if err != nil {
		t.Fatal(err)
	}
	sameKey(t, "the other key", got, other)
}

// testKeyIsolation: a workspace lists and revokes only its own keys.
func testKeyIsolation(t *testing.T, open KeyOpener) {
	s, c := openKeys(t, open)
	ensure(t, s, "a", "b")
	ka, _ := storedKey(t, s, "a", "key_a", "", vigil.RoleIngest, c.Now())
	kb, secretB := storedKey(t, s, "b", "key_b", "", vigil.RoleIngest, c.Now())
	for ws, want := range map[string]vigil.APIKey{"a": ka, "b": kb} {
		keys, err := s.Keys(ctx(t), ws)
		if err != nil || len(keys) != 1 {
			t.Fatalf("Keys(%s) = %+v %v", ws, keys, err)
		}
		sameKey(t, "Keys("+ws+")", keys[0], want)
	}
	if _, err := s.RevokeKey(ctx(t), "a", kb.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("workspace a revoked b's key: %v, want %s", err, vigil.ENOTFOUND)
	}
	got, err := s.KeyByHash(ctx(t), vigil.HashKey(secretB))
	if err != nil || got.Revoked() || got.Workspace != "b" {
		t.Fatalf("b's key after a's attempt = %+v %v", got, err)
	}
}
