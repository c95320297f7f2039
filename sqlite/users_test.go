package sqlite_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// TestUsersAndSessions: local accounts and provider users are unique per
// workspace, credentials come back opaque, a TOTP step is usable once,
// and disabling a user ends its sessions.
func TestUsersAndSessions(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	c := ctx(t)
	if _, err := db.EnsureWorkspace(c, "ws"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	local := vigil.User{ID: vigil.NewUserID(), Workspace: "ws", Email: "a@example.org", Role: vigil.RoleAuditor, CreatedAt: now}
	cred := &vigil.LocalCredentials{PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", TOTPSecret: []byte{1, 2, 3}}
	if err := db.CreateUser(c, local, cred); err != nil {
		t.Fatal(err)
	}
	dup := local
	dup.ID = vigil.NewUserID()
	if err := db.CreateUser(c, dup, cred); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("second local account with one email: %v, want conflict", err)
	}
	if err := db.CreateUser(c, vigil.User{ID: vigil.NewUserID(), Workspace: "ws", Email: "x", Role: vigil.RoleIngest, CreatedAt: now}, cred); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("ingest user: %v, want invalid", err)
	}
	oidc := vigil.User{ID: vigil.NewUserID(), Workspace: "ws", Email: "a@example.org", Role: vigil.RolePrivacyOfficer,
		Issuer: "https://idp.example", Subject: "sub-1", CreatedAt: now}
	if err := db.CreateUser(c, oidc, nil); err != nil {
		t.Fatalf("a provider's user may share a local account's email: %v", err)
	}
	if err := db.CreateUser(c, oidc, cred); err == nil {
		t.Fatal("a provider's user with credentials was stored")
	}
	u, got, err := db.LocalUser(c, "ws", "a@example.org")
	if err != nil || u.ID != local.ID || got.PasswordHash != cred.PasswordHash || !bytes.Equal(got.TOTPSecret, cred.TOTPSecret) {
		t.Fatalf("LocalUser: %+v %+v %v", u, got, err)
	}
	if _, _, err := db.LocalUser(c, "other", "a@example.org"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("another workspace's account: %v", err)
	}
	if u, err := db.UserBySubject(c, "ws", "https://idp.example", "sub-1"); err != nil || u.ID != oidc.ID || u.Local() {
		t.Fatalf("UserBySubject: %+v %v", u, err)
	}
	if u, err := db.UpdateUser(c, "ws", oidc.ID, "b@example.org", vigil.RoleAdmin); err != nil || u.Email != "b@example.org" || u.Role != vigil.RoleAdmin {
		t.Fatalf("UpdateUser: %+v %v", u, err)
	}
	for _, want := range []struct {
		step int64
		ok   bool
	}{{100, true}, {100, false}, {99, false}, {101, true}} {
		if ok, err := db.UseTOTPStep(c, local.ID, want.step); err != nil || ok != want.ok {
			t.Fatalf("UseTOTPStep(%d) = %v %v, want %v", want.step, ok, err, want.ok)
		}
	}

	hash := vigil.HashKey("session-secret")
	s := vigil.Session{UserID: local.ID, CreatedAt: now, LastActive: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.CreateSession(c, hash, s); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSession(c, hash, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := db.TouchSession(c, hash, now); err != nil { // an older action never moves it back
		t.Fatal(err)
	}
	gs, gu, err := db.Session(c, hash)
	if err != nil || gu.ID != local.ID || !gs.LastActive.Equal(now.Add(time.Minute)) || !gs.ExpiresAt.Equal(s.ExpiresAt) {
		t.Fatalf("Session: %+v %+v %v", gs, gu, err)
	}
	if _, err := db.DisableUser(c, "ws", local.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Session(c, hash); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("session of a disabled user: %v", err)
	}
	if u, err := db.User(c, "ws", local.ID); err != nil || !u.Disabled() {
		t.Fatalf("disabled user: %+v %v", u, err)
	}
	users, err := db.Users(c, "ws")
	if err != nil || len(users) != 2 {
		t.Fatalf("Users: %d %v", len(users), err)
	}
	if err := db.DeleteSession(c, hash); err != nil {
		t.Fatal(err)
	}
}

// TestIssuerKeys: the migrated key table takes the issuer role.
func TestIssuerKeys(t *testing.T) {
	db := MustOpenDB(t, t.TempDir())
	if _, err := db.EnsureWorkspace(ctx(t), "ws"); err != nil {
		t.Fatal(err)
	}
	k, secret, err := vigil.CreateKey(ctx(t), db, "ws", vigil.RoleIssuer, "t1", "embed", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.KeyByHash(ctx(t), vigil.HashKey(secret))
	if err != nil || got.ID != k.ID || got.Role != vigil.RoleIssuer {
		t.Fatalf("%+v %v", got, err)
	}
}
