package http

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/vigilhq/vigil"
	"github.com/vigilhq/vigil/alert"
	"github.com/vigilhq/vigil/api"
)

// Actions recording changes to alert rules and alerts.
const (
	ActionAlertRulesCreated  = "vigil.alert_rules.created"
	ActionAlertRulesUpdated  = "vigil.alert_rules.updated"
	ActionAlertRulesDisabled = "vigil.alert_rules.disabled"
	ActionAlertRulesEnabled  = "vigil.alert_rules.enabled"
	ActionAlertsQuery        = "vigil.alerts.query"
	ActionAlertsRead         = "vigil.alerts.read"
	ActionAlertsUpdated      = "vigil.alerts.updated"
)

// alerts returns the alert store, or EUNAVAILABLE when the server has none.
func (s *Server) alerts() (vigil.AlertStore, error) {
	if s.cfg.Alerts == nil {
		return nil, vigil.Errorf(vigil.EUNAVAILABLE, "alerts are not available on this server")
	}
	return s.cfg.Alerts, nil
}

// ruleAdmin refuses tenant-restricted admins: rules watch the whole
// workspace, every tenant's events.
func ruleAdmin(k vigil.APIKey) error {
	if k.TenantID != "" {
		return vigil.Errorf(vigil.EFORBIDDEN, "alert rules cover every tenant of the workspace; a key restricted to tenant %q may not manage them", k.TenantID)
	}
	return nil
}

func toAPIRule(r vigil.AlertRule) api.AlertRule {
	ch := r.Channels
	if ch == nil {
		ch = []string{}
	}
	return api.AlertRule{ID: r.ID, Name: r.Name, RuleType: r.Type, Conditions: r.Conditions, Channels: ch,
		Throttle: alert.Duration(r.Throttle).String(), Enabled: r.Enabled, Version: r.Version,
		CreatedAt: r.CreatedAt.Format(time.RFC3339Nano), UpdatedAt: r.UpdatedAt.Format(time.RFC3339Nano)}
}

// ruleFromBody decodes and compiles a rule definition; every problem is
// one 422 naming its field.
func (s *Server) ruleFromBody(r *http.Request, k vigil.APIKey) (vigil.AlertRule, error) {
	if err := onlyParams(r); err != nil {
		return vigil.AlertRule{}, err
	}
	body, err := readBody(r, alert.MaxConditionsBytes+vigil.MaxRequestBytes)
	if err != nil {
		return vigil.AlertRule{}, err
	}
	var in api.AlertRuleInput
	if err := decodeStrict(body, &in); err != nil {
		return vigil.AlertRule{}, err
	}
	return RuleDefinition(k.Workspace, in, s.cfg.AlertThrottle, s.cfg.AlertChannels)
}

// RuleDefinition validates and compiles a rule definition as the API
// receives it, for the workspace, with the server's default throttle and
// configured channel names; every problem is one EINVALID detail naming
// its field. The stored conditions are the normalised ones.
func RuleDefinition(workspace string, in api.AlertRuleInput, defaultThrottle time.Duration, channels []string) (vigil.AlertRule, error) {
	def := vigil.AlertRule{Workspace: workspace, Name: in.Name, Type: in.RuleType, Conditions: in.Conditions,
		Channels: in.Channels, Enabled: in.Enabled == nil || *in.Enabled, Throttle: defaultThrottle}
	var details []vigil.ErrorDetail
	if in.Throttle != nil {
		d, err := alert.ParseDuration(*in.Throttle)
		if err != nil {
			details = append(details, vigil.ErrorDetail{Field: "throttle", Message: "must be a duration such as 15m, 1h or 1d"})
		}
		def.Throttle = time.Duration(d)
	}
	if def.Type == vigil.RuleTamper {
		details = append(details, vigil.ErrorDetail{Field: "rule_type",
			Message: "tamper alerts are built in and always on; they notify every configured channel"})
	}
	compiled, err := alert.Compile(def)
	if err != nil {
		details = append(details, vigil.ErrorDetails(err)...)
	}
	for i, ch := range def.Channels {
		if ch != "" && !slices.Contains(channels, ch) {
			details = append(details, vigil.ErrorDetail{Field: "channels[" + strconv.Itoa(i) + "]",
				Message: "no channel named " + strconv.Quote(ch) + " is configured on this server"})
		}
	}
	if len(details) > 0 {
		return def, vigil.Invalid(details...)
	}
	// Store the normalised conditions (defaults filled in), which is what
	// reads show and what later compiles see.
	if def.Conditions, err = json.Marshal(compiled.Conditions()); err != nil {
		return def, err
	}
	return def, nil
}

func (s *Server) createAlertRule(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.alerts()
	if err != nil {
		return err
	}
	if err := ruleAdmin(k); err != nil {
		return err
	}
	def, err := s.ruleFromBody(r, k)
	if err != nil {
		return err
	}
	rule, err := store.CreateRule(r.Context(), def)
	if err != nil {
		return err
	}
	s.recordRule(r, k, ActionAlertRulesCreated, rule)
	writeJSON(w, http.StatusCreated, api.Data[api.AlertRule]{Data: toAPIRule(rule)})
	return nil
}

func (s *Server) recordRule(r *http.Request, k vigil.APIKey, action string, rule vigil.AlertRule) {
	params := map[string]string{"rule_id": rule.ID, "rule_type": rule.Type, "version": strconv.Itoa(rule.Version),
		"enabled": strconv.FormatBool(rule.Enabled)}
	if err := s.record(r, k, action, params); err != nil {
		s.logger.Error("recording an alert rule change failed", "rule_id", rule.ID, "err", err)
	}
}

func (s *Server) listAlertRules(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, err := s.alerts()
	if err != nil {
		return err
	}
	if err := onlyParams(r); err != nil {
		return err
	}
	if err := ruleAdmin(k); err != nil {
		return err
	}
	rules, err := store.Rules(r.Context(), k.Workspace)
	if err != nil {
		return err
	}
	out := make([]api.AlertRule, len(rules))
	for i, rule := range rules {
		out[i] = toAPIRule(rule)
	}
	writeJSON(w, http.StatusOK, api.Data[[]api.AlertRule]{Data: out})
	return nil
}

func (s *Server) findRule(r *http.Request, k vigil.APIKey) (vigil.AlertStore, vigil.AlertRule, error) {
	store, err := s.alerts()
	if err != nil {
		return nil, vigil.AlertRule{}, err
	}
	if err := ruleAdmin(k); err != nil {
		return nil, vigil.AlertRule{}, err
	}
	id := r.PathValue("id")
	if !validID(id) {
		return nil, vigil.AlertRule{}, vigil.Errorf(vigil.ENOTFOUND, "alert rule not found")
	}
	rule, err := store.Rule(r.Context(), k.Workspace, id)
	return store, rule, err
}

func (s *Server) getAlertRule(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	_, rule, err := s.findRule(r, k)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.Data[api.AlertRule]{Data: toAPIRule(rule)})
	return nil
}

func (s *Server) updateAlertRule(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	store, old, err := s.findRule(r, k)
	if err != nil {
		return err
	}
	def, err := s.ruleFromBody(r, k)
	if err != nil {
		return err
	}
	def.ID = old.ID
	rule, err := store.UpdateRule(r.Context(), def)
	if err != nil {
		return err
	}
	s.recordRule(r, k, ActionAlertRulesUpdated, rule)
	writeJSON(w, http.StatusOK, api.Data[api.AlertRule]{Data: toAPIRule(rule)})
	return nil
}

func (s *Server) disableAlertRule(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	return s.setRuleEnabled(w, r, k, false)
}

func (s *Server) enableAlertRule(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	return s.setRuleEnabled(w, r, k, true)
}

func (s *Server) setRuleEnabled(w http.ResponseWriter, r *http.Request, k vigil.APIKey, enabled bool) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	if err := noBody(r); err != nil {
		return err
	}
	store, rule, err := s.findRule(r, k)
	if err != nil {
		return err
	}
	if rule.Enabled != enabled {
		rule.Enabled = enabled
		if rule, err = store.UpdateRule(r.Context(), rule); err != nil {
			return err
		}
		action := ActionAlertRulesDisabled
		if enabled {
			action = ActionAlertRulesEnabled
		}
		s.recordRule(r, k, action, rule)
	}
	writeJSON(w, http.StatusOK, api.Data[api.AlertRule]{Data: toAPIRule(rule)})
	return nil
}

func (s *Server) alertRuleVersions(w http.ResponseWriter, r *http.Request, k vigil.APIKey) error {
	if err := onlyParams(r); err != nil {
		return err
	}
	store, rule, err := s.findRule(r, k)
	if err != nil {
		return err
	}
	versions, err := store.RuleVersions(r.Context(), k.Workspace, rule.ID)
	if err != nil {
		return err
	}
	out := make([]api.AlertRule, len(versions))
	for i, v := range versions {
		out[i] = toAPIRule(v)
	}
	writeJSON(w, http.StatusOK, api.Data[[]api.AlertRule]{Data: out})
	return nil
}
