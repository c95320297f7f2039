package alert

import "strings"

// Pattern is a compiled action pattern: '*' matches any run of characters,
// everything else is literal, and the whole action must match. It has the
// semantics of the event query's action filter (SQLite GLOB with only '*'
// special).
type Pattern struct {
	text  string
	parts []string // the literal runs between stars
	stars bool
}

// everything matches every action; it is what an absent action_pattern means.
var everything = NewPattern("*")

// NewPattern compiles s. Every string is a pattern; the checks on a rule's
// patterns (not empty, length, UTF-8) are ParseConditions'.
func NewPattern(s string) Pattern {
	p := Pattern{text: s, stars: strings.Contains(s, "*")}
	if p.stars {
		p.parts = strings.Split(s, "*")
	}
	return p
}

// String returns the pattern as written.
func (p Pattern) String() string { return p.text }

// Match reports whether action matches the pattern.
func (p Pattern) Match(action string) bool {
	if !p.stars {
		return action == p.text
	}
	// With only '*' special, matching each middle part at its leftmost
	// occurrence is optimal: an earlier match never rules out a later part.
	first, last := p.parts[0], p.parts[len(p.parts)-1]
	if len(action) < len(first)+len(last) || !strings.HasPrefix(action, first) || !strings.HasSuffix(action, last) {
		return false
	}
	rest := action[len(first) : len(action)-len(last)]
	for _, part := range p.parts[1 : len(p.parts)-1] {
		i := strings.Index(rest, part)
		if i < 0 {
			return false
		}
		rest = rest[i+len(part):]
	}
	return true
}

// all reports whether the pattern matches every action, so a History may
// skip the filter.
func (p Pattern) all() bool { return p.stars && strings.Trim(p.text, "*") == "" }

// filter is the pattern as a History filter: "" when it matches everything.
func (p Pattern) filter() string {
	if p.all() {
		return ""
	}
	return p.text
}
