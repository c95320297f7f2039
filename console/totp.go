package console

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/vigilhq/vigil"
)

// TOTP (RFC 6238): six digits, thirty-second steps, SHA-1 (what every
// authenticator app reads from an otpauth:// URI), one step of clock skew
// either way. A code is accepted once: the store remembers the last step
// used.
const totpPeriod = 30

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// matchTOTP returns the step of the code among now's and its neighbours',
// or -1.
func matchTOTP(secret, code string, now time.Time) int64 {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return -1
	}
	step := now.Unix() / totpPeriod
	for _, s := range []int64{step - 1, step, step + 1} {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s
		}
	}
	return -1
}

// NewLocalUser makes a local account: its id, its password's hash and a
// new TOTP secret sealed with the console secret. It returns the
// otpauth:// URI to enrol the secret in an authenticator app, shown once.
func NewLocalUser(workspace, email string, role vigil.Role, password string, consoleSecret []byte, now time.Time) (vigil.User, *vigil.LocalCredentials, string, error) {
	var details []vigil.ErrorDetail
	if email = strings.TrimSpace(email); email == "" || len(email) > 254 || !vigil.ValidText(email) || !strings.Contains(email, "@") {
		details = append(details, vigil.ErrorDetail{Field: "email", Message: "must be an email address"})
	}
	if !role.ValidUser() {
		details = append(details, vigil.ErrorDetail{Field: "role", Message: "must be one of " + vigil.RoleList(vigil.UserRoles)})
	}
	if len(password) < MinPasswordLength || len(password) > maxPasswordLength || !vigil.ValidText(password) {
		details = append(details, vigil.ErrorDetail{Field: "password", Message: "must be 12 to 1024 characters"})
	}
	if len(details) > 0 {
		return vigil.User{}, nil, "", vigil.Invalid(details...)
	}
	keys, err := deriveKeys(consoleSecret)
	if err != nil {
		return vigil.User{}, nil, "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: "Vigil", AccountName: email, Period: totpPeriod,
		Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20})
	if err != nil {
		return vigil.User{}, nil, "", err
	}
	u := vigil.User{ID: vigil.NewUserID(), Workspace: workspace, Email: email, Role: role, CreatedAt: now.UTC()}
	sealed, err := seal(keys.seal, u.ID, []byte(key.Secret()))
	if err != nil {
		return vigil.User{}, nil, "", err
	}
	return u, &vigil.LocalCredentials{PasswordHash: HashPassword(password), TOTPSecret: sealed}, key.URL(), nil
}

// qrDataURL draws an otpauth:// URI as a QR code, a PNG data: URL.
func qrDataURL(uri string) (string, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return "", err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}
