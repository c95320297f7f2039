package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/console"
)

// consoleSecret keys the console's TOTP sealing, its CSRF tokens and the
// viewer tokens (mode 0600, never overwritten: a new one would make every
// local account's TOTP secret unreadable).
const consoleSecret = "console.secret"

type consoleFlags struct {
	enabled                bool
	workspace              string
	idle, lifetime         time.Duration
	secureCookies          bool
	oidcIssuer, oidcClient string
	oidcSecretFile         string
	oidcRedirect           string
	oidcRoleClaim          string
	oidcScopes, oidcName   string
}

func registerConsoleFlags(fs *flag.FlagSet) *consoleFlags {
	c := &consoleFlags{}
	fs.BoolVar(&c.enabled, "console", true, "serve the web console at /console/ and the embeddable viewer at /viewer")
	fs.StringVar(&c.workspace, "console-workspace", defaultWS, "the workspace the console shows and its users belong to")
	fs.DurationVar(&c.idle, "console-idle-timeout", 15*time.Minute, "automatic logoff after this long without a user action")
	fs.DurationVar(&c.lifetime, "console-session-lifetime", 12*time.Hour, "a console session ends after this long, whatever the activity")
	fs.BoolVar(&c.secureCookies, "console-secure-cookies", false, "mark console cookies Secure on plain HTTP too (behind a TLS-terminating proxy)")
	fs.StringVar(&c.oidcIssuer, "oidc-issuer", "", "OpenID Connect issuer URL: offer sign-in through it")
	fs.StringVar(&c.oidcClient, "oidc-client-id", "", "OpenID Connect client id")
	fs.StringVar(&c.oidcSecretFile, "oidc-client-secret-file", "", "file holding the OpenID Connect client secret")
	fs.StringVar(&c.oidcRedirect, "oidc-redirect-url", "", "this console's callback as registered with the provider (https://HOST/console/oidc/callback)")
	fs.StringVar(&c.oidcRoleClaim, "oidc-role-claim", "vigil_role", "the claim naming the user's role: auditor, privacy_officer or admin")
	fs.StringVar(&c.oidcScopes, "oidc-scopes", "", "comma-separated scopes to request beside openid, email and profile")
	fs.StringVar(&c.oidcName, "oidc-name", "", "the provider's name on the sign-in button")
	return c
}

// oidc returns the OIDC configuration the flags ask for, or nil.
func (c *consoleFlags) oidc() (*console.OIDCConfig, error) {
	if c.oidcIssuer == "" && c.oidcClient == "" {
		return nil, nil
	}
	if c.oidcIssuer == "" || c.oidcClient == "" || c.oidcRedirect == "" {
		return nil, errors.New("--oidc-issuer, --oidc-client-id and --oidc-redirect-url go together")
	}
	cfg := &console.OIDCConfig{Issuer: c.oidcIssuer, ClientID: c.oidcClient, RedirectURL: c.oidcRedirect,
		RoleClaim: c.oidcRoleClaim, Name: c.oidcName}
	if c.oidcSecretFile != "" {
		b, err := os.ReadFile(c.oidcSecretFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-client-secret-file: %w", err)
		}
		cfg.ClientSecret = strings.TrimSpace(string(b))
	}
	for _, s := range strings.Split(c.oidcScopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Scopes = append(cfg.Scopes, s)
		}
	}
	return cfg, nil
}

// viewerTokens loads (creating) the console secret and returns it with
// the viewer token minter keyed by it.
func viewerTokens(d *dataDir) ([]byte, *vigil.ViewerTokens, error) {
	secret, err := loadOrCreateSecret(filepath.Join(d.path, consoleSecret))
	if err != nil {
		return nil, nil, err
	}
	key, err := console.ViewerKey(secret)
	if err != nil {
		return nil, nil, err
	}
	return secret, vigil.NewViewerTokens(key), nil
}

// newConsole builds the console over an opened data directory.
func newConsole(d *dataDir, cf *consoleFlags, secret []byte, tokens *vigil.ViewerTokens, reports vigil.ReportService,
	proxies []netip.Prefix, tlsOn bool, channels []string, throttle time.Duration, logger *slog.Logger) (*console.Console, error) {
	oidc, err := cf.oidc()
	if err != nil {
		return nil, err
	}
	if _, err := d.db.EnsureWorkspace(context.Background(), cf.workspace); err != nil {
		return nil, err
	}
	return console.New(console.Config{Workspace: cf.workspace, Events: d.db, Scanner: d.db, Ledger: d.db, Keys: d.db, Users: d.db,
		Alerts: d.db, Reports: reports, VerifierKey: d.verifierKey, Secret: secret, ViewerTokens: tokens, OIDC: oidc,
		IdleTimeout: cf.idle, SessionLifetime: cf.lifetime, SecureCookies: cf.secureCookies || tlsOn, TrustedProxies: proxies,
		AlertChannels: channels, AlertThrottle: throttle, Logger: logger})
}
