package storetest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigilhq/vigil"
)

// UserBackend is what RunUsers exercises: console users and sessions.
type UserBackend interface {
	vigil.KeyStore
	vigil.UserStore
	Close() error
}

// UserOpener opens a fresh, empty store whose clock is now; the suite
// closes it.
type UserOpener func(t *testing.T, now func() time.Time) UserBackend

// RunUsers is the conformance suite of vigil.UserStore.
func RunUsers(t *testing.T, open UserOpener) {
	t.Run("LocalAccount", func(t *testing.T) { testLocalAccount(t, open) })
	t.Run("ProviderUser", func(t *testing.T) { testProviderUser(t, open) })
	t.Run("Conflicts", func(t *testing.T) { testUserConflicts(t, open) })
	t.Run("BadUser", func(t *testing.T) { testBadUser(t, open) })
	t.Run("List", func(t *testing.T) { testUserList(t, open) })
	t.Run("Update", func(t *testing.T) { testUserUpdate(t, open) })
	t.Run("Disable", func(t *testing.T) { testUserDisable(t, open) })
	t.Run("TOTPSteps", func(t *testing.T) { testTOTPSteps(t, open) })
	t.Run("TOTPRace", func(t *testing.T) { testTOTPRace(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
}

func openUsers(t *testing.T, open UserOpener) (UserBackend, *Clock) {
	t.Helper()
	c := NewClock()
	s := open(t, c.Now)
	t.Cleanup(func() { s.Close() })
	ensure(t, s, "ws", "other")
	return s, c
}

func localUser(ws, email string, role vigil.Role, at time.Time) (vigil.User, *vigil.LocalCredentials) {
	return vigil.User{ID: vigil.NewUserID(), Workspace: ws, Email: email, Role: role, CreatedAt: at},
		&vigil.LocalCredentials{PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$" + email, TOTPSecret: []byte("sealed:" + email)}
}

func providerUser(ws, issuer, subject, email string, at time.Time) vigil.User {
	return vigil.User{ID: vigil.NewUserID(), Workspace: ws, Email: email, Role: vigil.RoleAuditor, Issuer: issuer, Subject: subject, CreatedAt: at}
}

func mustCreateUser(t *testing.T, s vigil.UserStore, u vigil.User, c *vigil.LocalCredentials) vigil.User {
	t.Helper()
	if err := s.CreateUser(ctx(t), u, c); err != nil {
		t.Fatalf("CreateUser(%s): %v", u.Email, err)
	}
	return u
}

func sameUser(t *testing.T, what string, got, want vigil.User) {
	t.Helper()
	g, w := got, want
	g.CreatedAt, g.DisabledAt, w.CreatedAt, w.DisabledAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if g != w || !got.CreatedAt.Equal(want.CreatedAt) || !got.DisabledAt.Equal(want.DisabledAt) {
		t.Fatalf("%s =\n %+v, want\n %+v", what, got, want)
	}
}

func testLocalAccount(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	u, cred := localUser("ws", "ana@clinic.example", vigil.RolePrivacyOfficer, c.Now())
	mustCreateUser(t, s, u, cred)
	got, err := s.User(ctx(t), "ws", u.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "User", got, u)
	lu, lc, err := s.LocalUser(ctx(t), "ws", u.Email)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "LocalUser", lu, u)
	if lc.PasswordHash != cred.PasswordHash || !bytes.Equal(lc.TOTPSecret, cred.TOTPSecret) {
		t.Fatalf("LocalUser credentials = %+v, want %+v", lc, *cred)
	}
	for _, tc := range []struct{ ws, email string }{{"other", u.Email}, {"ws", "ANA@clinic.example"}, {"ws", "bob@clinic.example"}} {
		if _, _, err := s.LocalUser(ctx(t), tc.ws, tc.email); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("LocalUser(%s, %s): %v, want %s", tc.ws, tc.email, err, vigil.ENOTFOUND)
		}
	}
	if _, err := s.User(ctx(t), "other", u.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("User from another workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, err := s.User(ctx(t), "ws", vigil.NewUserID()); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("User of no user: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testProviderUser: a provider's user is found by issuer and subject, and
// never as a local account, even with a local account's email.
func testProviderUser(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	p := mustCreateUser(t, s, providerUser("ws", "https://idp.example", "sub-1", "ana@clinic.example", c.Now()), nil)
	got, err := s.UserBySubject(ctx(t), "ws", "https://idp.example", "sub-1")
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "UserBySubject", got, p)
	if got, err = s.User(ctx(t), "ws", p.ID); err != nil {
		t.Fatal(err)
	}
	sameUser(t, "User of a provider's user", got, p)
	if _, _, err := s.LocalUser(ctx(t), "ws", p.Email); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a provider's user signs in locally: %v, want %s", err, vigil.ENOTFOUND)
	}
	for _, tc := range []struct{ ws, iss, sub string }{
		{"other", "https://idp.example", "sub-1"}, {"ws", "https://evil.example", "sub-1"}, {"ws", "https://idp.example", "sub-2"},
	} {
		if _, err := s.UserBySubject(ctx(t), tc.ws, tc.iss, tc.sub); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("UserBySubject(%s, %s, %s): %v, want %s", tc.ws, tc.iss, tc.sub, err, vigil.ENOTFOUND)
		}
	}
}

// testUserConflicts: one local account per email and one user per
// provider subject in a workspace; other workspaces and issuers are apart.
func testUserConflicts(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	u, cred := localUser("ws", "ana@clinic.example", vigil.RoleAdmin, c.Now())
	mustCreateUser(t, s, u, cred)
	dup, dupCred := localUser("ws", u.Email, vigil.RoleAuditor, c.Now())
	if err := s.CreateUser(ctx(t), dup, dupCred); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("a second local account with the email: %v, want %s", err, vigil.ECONFLICT)
	}
	if _, err := s.User(ctx(t), "ws", dup.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("the refused account was stored: %v", err)
	}
	elsewhere, elsewhereCred := localUser("other", u.Email, vigil.RoleAuditor, c.Now())
	mustCreateUser(t, s, elsewhere, elsewhereCred)
	mustCreateUser(t, s, providerUser("ws", "https://idp.example", "sub-1", u.Email, c.Now()), nil)
	if err := s.CreateUser(ctx(t), providerUser("ws", "https://idp.example", "sub-1", "x@clinic.example", c.Now()), nil); vigil.ErrorCode(err) != vigil.ECONFLICT {
		t.Fatalf("a second user of the provider subject: %v, want %s", err, vigil.ECONFLICT)
	}
	mustCreateUser(t, s, providerUser("ws", "https://other-idp.example", "sub-1", "y@clinic.example", c.Now()), nil)
	mustCreateUser(t, s, providerUser("other", "https://idp.example", "sub-1", "z@clinic.example", c.Now()), nil)
	if us, err := s.Users(ctx(t), "ws"); err != nil || len(us) != 3 {
		t.Fatalf("Users(ws) has %d users %v, want 3", len(us), err)
	}
	lu, _, err := s.LocalUser(ctx(t), "ws", u.Email)
	if err != nil {
		t.Fatal(err)
	}
	sameUser(t, "the first account after conflicts", lu, u)
}

// testBadUser: a user with a role users cannot have, or credentials that
// do not fit its kind, is refused with EINVALID and not stored.
func testBadUser(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	for i, tc := range []struct {
		name string
		u    vigil.User
		cred *vigil.LocalCredentials
	}{
		{"ingest role", func() vigil.User { u, _ := localUser("ws", "a@x.example", vigil.RoleIngest, c.Now()); return u }(), &vigil.LocalCredentials{PasswordHash: "h"}},
		{"no role", func() vigil.User { u, _ := localUser("ws", "b@x.example", "", c.Now()); return u }(), &vigil.LocalCredentials{PasswordHash: "h"}},
		{"local without credentials", func() vigil.User { u, _ := localUser("ws", "c@x.example", vigil.RoleAdmin, c.Now()); return u }(), nil},
		{"provider with credentials", providerUser("ws", "https://idp.example", "s", "d@x.example", c.Now()), &vigil.LocalCredentials{PasswordHash: "h"}},
	} {
		if err := s.CreateUser(ctx(t), tc.u, tc.cred); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("%d %s: %v, want %s", i, tc.name, err, vigil.EINVALID)
		}
		if _, err := s.User(ctx(t), "ws", tc.u.ID); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("%s: the refused user was stored: %v", tc.name, err)
		}
	}
	if us, err := s.Users(ctx(t), "ws"); err != nil || len(us) != 0 {
		t.Fatalf("Users after refusals = %+v %v", us, err)
	}
	u, cred := localUser("never-made", "e@x.example", vigil.RoleAdmin, c.Now())
	if err := s.CreateUser(ctx(t), u, cred); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("CreateUser in no workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testUserList: Users lists a workspace's users oldest first.
func testUserList(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	base := c.Now()
	var want []vigil.User
	for i, off := range []time.Duration{2, 0, 1} {
		u, cred := localUser("ws", fmt.Sprintf("u%d@clinic.example", i), vigil.RoleAuditor, base.Add(off*time.Second))
		want = append(want, mustCreateUser(t, s, u, cred))
	}
	mustCreateUser(t, s, providerUser("other", "https://idp.example", "s", "o@clinic.example", base), nil)
	got, err := s.Users(ctx(t), "ws")
	if err != nil || len(got) != 3 {
		t.Fatalf("Users = %+v %v", got, err)
	}
	for i, j := range []int{1, 2, 0} {
		sameUser(t, fmt.Sprintf("Users[%d]", i), got[i], want[j])
	}
}

// testUserUpdate: email and role change; a role users cannot have, an
// email another local account has, or another workspace's user, are
// refused and change nothing.
func testUserUpdate(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	u, cred := localUser("ws", "ana@clinic.example", vigil.RoleAuditor, c.Now())
	mustCreateUser(t, s, u, cred)
	v, vcred := localUser("ws", "bob@clinic.example", vigil.RoleAuditor, c.Now())
	mustCreateUser(t, s, v, vcred)
	got, err := s.UpdateUser(ctx(t), "ws", u.ID, "ana.new@clinic.example", vigil.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	u.Email, u.Role = "ana.new@clinic.example", vigil.RoleAdmin
	sameUser(t, "UpdateUser", got, u)
	if lu, lc, err := s.LocalUser(ctx(t), "ws", u.Email); err != nil || lu.ID != u.ID || lc.PasswordHash != cred.PasswordHash {
		t.Fatalf("LocalUser by the new email = %+v %v", lu, err)
	}
	if _, _, err := s.LocalUser(ctx(t), "ws", "ana@clinic.example"); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("LocalUser by the old email: %v, want %s", err, vigil.ENOTFOUND)
	}
	for _, tc := range []struct {
		name, ws, id, email string
		role                vigil.Role
		code                string
	}{
		{"ingest role", "ws", u.ID, u.Email, vigil.RoleIngest, vigil.EINVALID},
		{"another's email", "ws", u.ID, v.Email, vigil.RoleAdmin, vigil.ECONFLICT},
		{"another workspace", "other", u.ID, "x@clinic.example", vigil.RoleAuditor, vigil.ENOTFOUND},
		{"no user", "ws", vigil.NewUserID(), "x@clinic.example", vigil.RoleAuditor, vigil.ENOTFOUND},
	} {
		if _, err := s.UpdateUser(ctx(t), tc.ws, tc.id, tc.email, tc.role); vigil.ErrorCode(err) != tc.code {
			t.Fatalf("UpdateUser %s: %v, want %s", tc.name, err, tc.code)
		}
	}
	for _, want := range []vigil.User{u, v} {
		got, err := s.User(ctx(t), "ws", want.ID)
		if err != nil {
			t.Fatal(err)
		}
		sameUser(t, "user after refused updates", got, want)
	}
}

func sessionHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func sameSession(t *testing.T, what string, got, want vigil.Session) {
	t.Helper()
	if got.UserID != want.UserID || !got.CreatedAt.Equal(want.CreatedAt) || !got.LastActive.Equal(want.LastActive) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("%s = %+v, want %+v", what, got, want)
	}
}

func mustSession(t *testing.T, s vigil.UserStore, id, user string, at time.Time) vigil.Session {
	t.Helper()
	sess := vigil.Session{UserID: user, CreatedAt: at, LastActive: at, ExpiresAt: at.Add(12 * time.Hour)}
	if err := s.CreateSession(ctx(t), sessionHash(id), sess); err != nil {
		t.Fatal(err)
	}
	return sess
}

// testUserDisable: disabling stamps the time once and ends the user's
// sessions, and only the user's.
func testUserDisable(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	u, cred := localUser("ws", "ana@clinic.example", vigil.RoleAdmin, c.Now())
	mustCreateUser(t, s, u, cred)
	v, vcred := localUser("ws", "bob@clinic.example", vigil.RoleAdmin, c.Now())
	mustCreateUser(t, s, v, vcred)
	mustSession(t, s, "sess-u1", u.ID, c.Now())
	mustSession(t, s, "sess-u2", u.ID, c.Now())
	vs := mustSession(t, s, "sess-v", v.ID, c.Now())
	if _, err := s.DisableUser(ctx(t), "other", u.ID, c.Now()); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("DisableUser from another workspace: %v, want %s", err, vigil.ENOTFOUND)
	}
	if _, _, err := s.Session(ctx(t), sessionHash("sess-u1")); err != nil {
		t.Fatalf("a refused disable ended a session: %v", err)
	}
	at := c.Advance(time.Minute)
	got, err := s.DisableUser(ctx(t), "ws", u.ID, at)
	if err != nil {
		t.Fatal(err)
	}
	u.DisabledAt = at
	sameUser(t, "DisableUser", got, u)
	if !got.Disabled() {
		t.Fatal("a disabled user is not Disabled")
	}
	if got, err = s.DisableUser(ctx(t), "ws", u.ID, c.Advance(time.Hour)); err != nil {
		t.Fatal(err)
	}
	sameUser(t, "second DisableUser", got, u)
	for _, id := range []string{"sess-u1", "sess-u2"} {
		if _, _, err := s.Session(ctx(t), sessionHash(id)); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("session %s of a disabled user: %v, want %s", id, err, vigil.ENOTFOUND)
		}
	}
	gs, gu, err := s.Session(ctx(t), sessionHash("sess-v"))
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "another user's session", gs, vs)
	sameUser(t, "another user's session user", gu, v)
	if _, err := s.DisableUser(ctx(t), "ws", vigil.NewUserID(), at); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("DisableUser of no user: %v, want %s", err, vigil.ENOTFOUND)
	}
}

// testTOTPSteps: a TOTP step is accepted once per user, and never one at
// or before the last accepted (a replayed or older code).
func testTOTPSteps(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	u, cred := localUser("ws", "ana@clinic.example", vigil.RoleAdmin, c.Now())
	mustCreateUser(t, s, u, cred)
	v, vcred := localUser("ws", "bob@clinic.example", vigil.RoleAdmin, c.Now())
	mustCreateUser(t, s, v, vcred)
	for i, tc := range []struct {
		user string
		step int64
		ok   bool
	}{
		{u.ID, 0, true}, {u.ID, 0, false},
		{u.ID, 63_000_000, true}, {u.ID, 63_000_000, false}, {u.ID, 62_999_999, false},
		{v.ID, 63_000_000, true}, // per user
		{u.ID, 63_000_001, true}, {u.ID, 63_000_000, false}, {u.ID, 63_000_003, true}, {u.ID, 63_000_002, false},
	} {
		ok, err := s.UseTOTPStep(ctx(t), tc.user, tc.step)
		if err != nil || ok != tc.ok {
			t.Fatalf("#%d UseTOTPStep(%s, %d) = %v %v, want %v", i, tc.user, tc.step, ok, err, tc.ok)
		}
	}
}

// testTOTPRace: sign-ins racing with one code: exactly one is accepted.
func testTOTPRace(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	u, cred := localUser("ws", "ana@clinic.example", vigil.RoleAdmin, c.Now())
	mustCreateUser(t, s, u, cred)
	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	accepted := 0
	var errs []error
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.UseTOTPStep(ctx(t), u.ID, 63_000_000)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				accepted++
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 || accepted != 1 {
		t.Fatalf("%d racers accepted (errors %v), want exactly 1", accepted, errs)
	}
}

// testSessions: a session reads back under its hash with its user;
// touching moves LastActive forward only; deleting ends it.
func testSessions(t *testing.T, open UserOpener) {
	s, c := openUsers(t, open)
	u, cred := localUser("ws", "ana@clinic.example", vigil.RoleAdmin, c.Now())
	mustCreateUser(t, s, u, cred)
	o := mustCreateUser(t, s, providerUser("other", "https://idp.example", "sub", "o@clinic.example", c.Now()), nil)
	sess := mustSession(t, s, "sess-1", u.ID, c.Now())
	osess := mustSession(t, s, "sess-2", o.ID, c.Now())
	gs, gu, err := s.Session(ctx(t), sessionHash("sess-1"))
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "Session", gs, sess)
	sameUser(t, "Session's user", gu, u)
	gs, gu, err = s.Session(ctx(t), sessionHash("sess-2"))
	if err != nil {
		t.Fatal(err)
	}
	sameSession(t, "other's Session", gs, osess)
	sameUser(t, "other's Session's user", gu, o)
	for _, bad := range [][]byte{sessionHash("sess-3"), sessionHash("sess-1")[:16], nil} {
		if _, _, err := s.Session(ctx(t), bad); vigil.ErrorCode(err) != vigil.ENOTFOUND {
			t.Fatalf("Session(%x): %v, want %s", bad, err, vigil.ENOTFOUND)
		}
	}

	later := c.Advance(20 * time.Minute)
	if err := s.TouchSession(ctx(t), sessionHash("sess-1"), later); err != nil {
		t.Fatal(err)
	}
	sess.LastActive = later
	// A touch older than the last (two requests finishing out of order)
	// does not move the activity back.
	if err := s.TouchSession(ctx(t), sessionHash("sess-1"), later.Add(-5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if gs, _, err = s.Session(ctx(t), sessionHash("sess-1")); err != nil {
		t.Fatal(err)
	}
	sameSession(t, "touched Session", gs, sess)
	if gs, _, err = s.Session(ctx(t), sessionHash("sess-2")); err != nil {
		t.Fatal(err)
	}
	sameSession(t, "untouched Session", gs, osess)
	if err := s.TouchSession(ctx(t), sessionHash("sess-none"), later); err != nil {
		t.Fatalf("TouchSession of no session: %v", err)
	}

	if err := s.DeleteSession(ctx(t), sessionHash("sess-1")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Session(ctx(t), sessionHash("sess-1")); vigil.ErrorCode(err) != vigil.ENOTFOUND {
		t.Fatalf("a deleted session: %v, want %s", err, vigil.ENOTFOUND)
	}
	if err := s.DeleteSession(ctx(t), sessionHash("sess-1")); err != nil {
		t.Fatalf("deleting a deleted session: %v", err)
	}
	if _, _, err := s.Session(ctx(t), sessionHash("sess-2")); err != nil {
		t.Fatalf("deleting one session ended another: %v", err)
	}
}
