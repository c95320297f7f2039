package storetest

import (
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

func testKeys(t *testing.T, open Opener) {
	s, _ := mustOpen(t, open)
	k, secret, err := vigil.CreateKey(ctx(t), s, "ws", vigil.RoleAuditor, "t1", "audit bot", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !vigil.LooksLikeKey(secret) || k.Hint != secret[:10] {
		t.Fatalf("secret %q hint %q", secret, k.Hint)
	}
	got, err := s.KeyByHash(ctx(t), vigil.HashKey(secret))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.ID || got.Workspace != "ws" || got.Role != vigil.RoleAuditor || got.TenantID != "t1" || got.Name != "audit bot" || got.Revoked() {
		t.Fatalf("KeyByHash = %+v", got)
	}
	if _, err := s.KeyByHash(ctx(t), vigil.HashKey(vigil.NewKeySecret())); vigil.ErrorCode(err) != vigil.EUNAUTHORIZED {
		t.Fatalf("unknown key: %v", err)
	}
	if _, _, err := vigil.CreateKey(ctx(t), s, "ws", "root", "", "", time.Now()); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("bad role: %v", err)
	}
	if _, err := s.EnsureWorkspace(ctx(t), "other"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := vigil.CreateKey(ctx(t), s, "other", vigil.RoleIngest, "", "", time.Now()); err != nil {
		t.Fatal(err)
	}
	keys, err := s.Keys(ctx(t), "ws")
	if err != nil || len(keys) != 1 || keys[0].ID != k.ID {
		t.Fatalf("Keys(ws) = %+v %v", keys, err)
	}
	if _, err := s.RevokeKey(ctx(t), "other", k.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("revoked another workspace's key: %v", err)
	}
	r, err := s.RevokeKey(ctx(t), "ws", k.ID)
	if err != nil || !r.Revoked() {
		t.Fatalf("RevokeKey = %+v %v", r, err)
	}
	again, err := s.RevokeKey(ctx(t), "ws", k.ID)
	if err != nil || !again.RevokedAt.Equal(r.RevokedAt) {
		t.Fatalf("second revoke changed the time: %v %v", again.RevokedAt, err)
	}
	got, err = s.KeyByHash(ctx(t), vigil.HashKey(secret))
	if err != nil || !got.Revoked() {
		t.Fatalf("revoked key = %+v %v", got, err)
	}
}
