package console

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/api"
	vhttp "github.com/vigilhq/vigil/http"
)

// Administration: keys, alert rules and users. Admins read no events;
// these pages show configuration, and every change is recorded as the
// API records it.

type keysData struct {
	Keys   []vigil.APIKey
	Roles  []vigil.Role
	Secret string // a key just created, shown once
	NewKey *vigil.APIKey
}

func (c *Console) keysPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.showKeys(w, r, p, http.StatusOK, keysData{}, "", "")
}

func (c *Console) showKeys(w http.ResponseWriter, r *http.Request, p *principal, status int, d keysData, notice, problem string) error {
	d.Roles = vigil.KeyRoles
	err := c.audited(r, p, actionKeysListed, nil, func() error {
		var err error
		d.Keys, err = c.cfg.Keys.Keys(r.Context(), c.cfg.Workspace)
		return err
	})
	if err != nil {
		return err
	}
	pd := c.page(p, "API keys", "keys", d)
	pd.Notice, pd.Error = notice, problem
	c.pages.render(w, status, "keys", pd)
	return nil
}

func (c *Console) createKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	f := r.PostForm
	k, secret, err := vigil.CreateKey(r.Context(), c.cfg.Keys, c.cfg.Workspace, vigil.Role(f.Get("role")), f.Get("tenant_id"), f.Get("name"), c.cfg.Now())
	if vigil.ErrorCode(err) == vigil.EINVALID {
		return c.showKeys(w, r, p, http.StatusUnprocessableEntity, keysData{}, "", detailText(err))
	} else if err != nil {
		return err
	}
	if err := c.record(r, p, actionKeysCreated, map[string]string{"key_id": k.ID, "role": string(k.Role), "tenant_id": k.TenantID}); err != nil {
		c.log.Error("recording key creation failed", "key_id", k.ID, "err", err)
	}
	return c.showKeys(w, r, p, http.StatusCreated, keysData{Secret: secret, NewKey: &k}, "Key created. Copy its secret now: it is shown once.", "")
}

func (c *Console) revokeKey(w http.ResponseWriter, r *http.Request, p *principal) error {
	k, err := c.cfg.Keys.RevokeKey(r.Context(), c.cfg.Workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := c.record(r, p, actionKeysRevoked, map[string]string{"key_id": k.ID}); err != nil {
		c.log.Error("recording key revocation failed", "key_id", k.ID, "err", err)
	}
	return c.showKeys(w, r, p, http.StatusOK, keysData{}, "Key "+k.ID+" revoked. Servers forget it within a second.", "")
}

func detailText(err error) string {
	msg := vigil.ErrorMessage(err)
	if ds := vigil.ErrorDetails(err); len(ds) > 1 {
		var parts []string
		for _, d := range ds {
			parts = append(parts, d.Field+": "+d.Message)
		}
		msg += ": " + strings.Join(parts, "; ")
	}
	return msg
}

type rulesData struct {
	Rules    []vigil.AlertRule
	Types    []string
	Channels []string
	Form     map[string]string
}

func (c *Console) rulesPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.showRules(w, r, p, http.StatusOK, nil, "", "")
}

func (c *Console) showRules(w http.ResponseWriter, r *http.Request, p *principal, status int, form map[string]string, notice, problem string) error {
	store, err := c.alertStore()
	if err != nil {
		return err
	}
	d := rulesData{Types: []string{vigil.RuleOffHours, vigil.RuleNewCountry, vigil.RuleHighVolume, vigil.RuleRepeatedFailure, vigil.RuleWatchlist},
		Channels: c.cfg.AlertChannels, Form: form}
	err = c.audited(r, p, ActionPageViewed, map[string]string{"page": "alert_rules"}, func() error {
		var err error
		d.Rules, err = store.Rules(r.Context(), c.cfg.Workspace)
		return err
	})
	if err != nil {
		return err
	}
	pd := c.page(p, "Alert rules", "rules", d)
	pd.Notice, pd.Error = notice, problem
	c.pages.render(w, status, "rules", pd)
	return nil
}

func (c *Console) recordRule(r *http.Request, p *principal, action string, rule vigil.AlertRule) {
	params := map[string]string{"rule_id": rule.ID, "rule_type": rule.Type, "version": strconv.Itoa(rule.Version),
		"enabled": strconv.FormatBool(rule.Enabled)}
	if err := c.record(r, p, action, params); err != nil {
		c.log.Error("recording an alert rule change failed", "rule_id", rule.ID, "err", err)
	}
}

// createRule takes the API's rule definition through the API's validator.
func (c *Console) createRule(w http.ResponseWriter, r *http.Request, p *principal) error {
	store, err := c.alertStore()
	if err != nil {
		return err
	}
	f := r.PostForm
	form := map[string]string{"name": f.Get("name"), "rule_type": f.Get("rule_type"), "conditions": f.Get("conditions"),
		"channels": f.Get("channels"), "throttle": f.Get("throttle")}
	in := api.AlertRuleInput{Name: form["name"], RuleType: form["rule_type"]}
	if cond := strings.TrimSpace(form["conditions"]); cond != "" {
		if !json.Valid([]byte(cond)) {
			return c.showRules(w, r, p, http.StatusUnprocessableEntity, form, "", "conditions: must be a JSON object")
		}
		in.Conditions = json.RawMessage(cond)
	}
	for _, ch := range strings.Split(form["channels"], ",") {
		if ch = strings.TrimSpace(ch); ch != "" {
			in.Channels = append(in.Channels, ch)
		}
	}
	if t := strings.TrimSpace(form["throttle"]); t != "" {
		in.Throttle = &t
	}
	def, err := vhttp.RuleDefinition(c.cfg.Workspace, in, c.cfg.AlertThrottle, c.cfg.AlertChannels)
	if err != nil {
		return c.showRules(w, r, p, http.StatusUnprocessableEntity, form, "", detailText(err))
	}
	rule, err := store.CreateRule(r.Context(), def)
	if err != nil {
		return err
	}
	c.recordRule(r, p, actionRulesCreated, rule)
	return c.showRules(w, r, p, http.StatusCreated, nil, "Rule "+rule.Name+" created.", "")
}

func (c *Console) setRuleEnabled(w http.ResponseWriter, r *http.Request, p *principal) error {
	store, err := c.alertStore()
	if err != nil {
		return err
	}
	state := r.PathValue("state")
	if state != "enable" && state != "disable" {
		return vigil.Errorf(vigil.ENOTFOUND, "no such page")
	}
	rule, err := store.Rule(r.Context(), c.cfg.Workspace, r.PathValue("id"))
	if err != nil {
		return err
	}
	if enabled := state == "enable"; rule.Enabled != enabled {
		rule.Enabled = enabled
		if rule, err = store.UpdateRule(r.Context(), rule); err != nil {
			return err
		}
		action := actionRulesDisabled
		if enabled {
			action = actionRulesEnabled
		}
		c.recordRule(r, p, action, rule)
	}
	return c.showRules(w, r, p, http.StatusOK, nil, "Rule "+rule.Name+" "+state+"d.", "")
}

type usersData struct {
	Users   []vigil.User
	Roles   []vigil.Role
	NewUser *vigil.User
	OTPURI  string // the new account's TOTP enrolment URI, shown once
	QR      string // the URI as a PNG data: URL
	Email   string
}

func (c *Console) usersPage(w http.ResponseWriter, r *http.Request, p *principal) error {
	return c.showUsers(w, r, p, http.StatusOK, usersData{}, "", "")
}

func (c *Console) showUsers(w http.ResponseWriter, r *http.Request, p *principal, status int, d usersData, notice, problem string) error {
	d.Roles = vigil.UserRoles
	err := c.audited(r, p, ActionPageViewed, map[string]string{"page": "users"}, func() error {
		var err error
		d.Users, err = c.cfg.Users.Users(r.Context(), c.cfg.Workspace)
		return err
	})
	if err != nil {
		return err
	}
	pd := c.page(p, "Users", "users", d)
	pd.Notice, pd.Error = notice, problem
	c.pages.render(w, status, "users", pd)
	return nil
}

func (c *Console) createUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	f := r.PostForm
	u, cred, uri, err := NewLocalUser(c.cfg.Workspace, f.Get("email"), vigil.Role(f.Get("role")), f.Get("password"), c.cfg.Secret, c.cfg.Now())
	if vigil.ErrorCode(err) == vigil.EINVALID {
		return c.showUsers(w, r, p, http.StatusUnprocessableEntity, usersData{Email: f.Get("email")}, "", detailText(err))
	} else if err != nil {
		return err
	}
	if err := c.record(r, p, ActionUsersCreated, map[string]string{"user_id": u.ID, "email": u.Email, "role": string(u.Role)}); err != nil {
		return err
	}
	if err := c.cfg.Users.CreateUser(r.Context(), u, cred); vigil.ErrorCode(err) == vigil.ECONFLICT {
		return c.showUsers(w, r, p, http.StatusConflict, usersData{Email: u.Email}, "", "A local account with this email exists.")
	} else if err != nil {
		return err
	}
	qr, err := qrDataURL(uri)
	if err != nil {
		return err
	}
	return c.showUsers(w, r, p, http.StatusCreated, usersData{NewUser: &u, OTPURI: uri, QR: qr},
		"User created. Give them the authenticator code below now: it is shown once.", "")
}

func (c *Console) disableUser(w http.ResponseWriter, r *http.Request, p *principal) error {
	id := r.PathValue("id")
	if id == p.ID {
		return c.showUsers(w, r, p, http.StatusUnprocessableEntity, usersData{}, "", "You cannot disable yourself.")
	}
	if err := c.record(r, p, ActionUsersDisabled, map[string]string{"user_id": id}); err != nil {
		return err
	}
	u, err := c.cfg.Users.DisableUser(r.Context(), c.cfg.Workspace, id, c.cfg.Now())
	if err != nil {
		return err
	}
	return c.showUsers(w, r, p, http.StatusOK, usersData{}, "User "+u.Email+" disabled; their sessions ended.", "")
}
