package vigil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"
)

// User is a person who signs in to the console: a local account (password
// and TOTP) or one known through an OpenID Connect provider. Users belong
// to one workspace and see all of it, as unrestricted keys do.
type User struct {
	ID        string // "usr_" and 24 hex digits
	Workspace string
	Email     string
	Role      Role // one of UserRoles
	// Issuer and Subject name a user of an OpenID Connect provider; both
	// are empty for a local account.
	Issuer, Subject string
	CreatedAt       time.Time
	DisabledAt      time.Time // zero while the user may sign in
}

// Disabled reports whether the user was disabled.
func (u User) Disabled() bool { return !u.DisabledAt.IsZero() }

// Local reports whether the user is a local account.
func (u User) Local() bool { return u.Issuer == "" }

// LocalCredentials are what a local account signs in with. The store keeps
// both opaque: PasswordHash is a PHC string of a memory-hard KDF, and
// TOTPSecret is sealed by its owner (the console) before it is stored.
type LocalCredentials struct {
	PasswordHash string
	TOTPSecret   []byte
}

// Session is a signed-in user's console session. The store keeps it under
// the hash of its id, which only the user's cookie holds.
type Session struct {
	UserID     string
	CreatedAt  time.Time
	LastActive time.Time // the last user action: an idle session ends
	ExpiresAt  time.Time // the absolute end, whatever the activity
}

// UserStore keeps console users and their sessions.
type UserStore interface {
	// CreateUser stores a new user; a local account comes with its
	// credentials. ECONFLICT if the workspace has a local account with this
	// email, or a provider's user with this issuer and subject.
	CreateUser(ctx context.Context, u User, c *LocalCredentials) error
	// User returns one user of the workspace; ENOTFOUND if none.
	User(ctx context.Context, workspace, id string) (User, error)
	// LocalUser returns the local account with this email and its
	// credentials; ENOTFOUND if none.
	LocalUser(ctx context.Context, workspace, email string) (User, LocalCredentials, error)
	// UserBySubject returns a provider's user; ENOTFOUND if none.
	UserBySubject(ctx context.Context, workspace, issuer, subject string) (User, error)
	// UpdateUser sets a user's email and role (a provider's user gets
	// them from its latest sign-in); ENOTFOUND if none, ECONFLICT if
	// another local account of the workspace has the email.
	UpdateUser(ctx context.Context, workspace, id, email string, role Role) (User, error)
	// Users lists a workspace's users, oldest first.
	Users(ctx context.Context, workspace string) ([]User, error)
	// DisableUser disables a user and ends its sessions; ENOTFOUND if none.
	DisableUser(ctx context.Context, workspace, id string, at time.Time) (User, error)
	// UseTOTPStep records that a user signed in with the code of a TOTP
	// time step; false when that step or a later one was used before (a
	// replayed code).
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)

	// CreateSession stores a session under the hash of its id.
	CreateSession(ctx context.Context, hash []byte, s Session) error
	// Session returns a session and its user; ENOTFOUND if none.
	Session(ctx context.Context, hash []byte) (Session, User, error)
	// TouchSession records a user action in a session.
	TouchSession(ctx context.Context, hash []byte, at time.Time) error
	// DeleteSession ends a session; ending one that does not exist is no error.
	DeleteSession(ctx context.Context, hash []byte) error
}

// NewUserID returns a new user id.
func NewUserID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("vigil: no randomness: " + err.Error())
	}
	return "usr_" + hex.EncodeToString(b[:])
}
