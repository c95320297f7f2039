package alert

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // rules name IANA zones; servers without /usr/share/zoneinfo must still load them

	"github.com/vigilhq/vigil"
)

// OffHours fires for an event whose action matches ActionPattern and whose
// local time in Timezone is off-hours. Conditions:
//
//	{"action_pattern": "patient_record.*",   required
//	 "timezone": "America/Los_Angeles",      required, an IANA zone name
//	 "start_hour": 20, "end_hour": 6,        required, 0..23, not equal
//	 "days": ["sat", "sun"]}                 optional
//
// The off-hours window runs from start_hour:00 up to but excluding
// end_hour:00 local time; a window with start_hour > end_hour crosses
// midnight (20 and 6 mean 20:00-05:59). Equal hours are refused: they
// would mean either no off-hours or nothing but, and neither is what the
// writer meant. Days name days that are off-hours from midnight to
// midnight (a clinic closed at weekends); the window applies on every
// day. Day names are sun, mon, tue, wed, thu, fri, sat (full English names
// and any case are accepted and normalised).
//
// The local hour comes from the zone's rules at the event's instant, so
// DST is handled by construction: on a spring-forward day 02:00-02:59 does
// not occur, and on a fall-back day 01:00-01:59 occurs twice and is judged
// the same both times. The instant judged is occurred_at (created_at when
// absent).
//
// The subject is the actor.
type OffHours struct {
	ActionPattern string   `json:"action_pattern"`
	Timezone      string   `json:"timezone"`
	StartHour     int      `json:"start_hour"`
	EndHour       int      `json:"end_hour"`
	Days          []string `json:"days,omitempty"`

	pattern Pattern
	loc     *time.Location
	closed  [7]bool // by time.Weekday
}

var dayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func parseOffHours(f *fields) Conditions {
	c := &OffHours{pattern: f.pattern("action_pattern", true)}
	c.ActionPattern = c.pattern.String()
	if tz, ok := f.string("timezone", true); ok {
		c.Timezone = tz
		c.loc = loadZone(f, tz)
	}
	c.StartHour = hour(f, "start_hour")
	c.EndHour = hour(f, "end_hour")
	if c.StartHour >= 0 && c.StartHour == c.EndHour {
		f.add("conditions.end_hour", "must differ from start_hour (the window would be empty)")
	}
	days, _ := f.strings("days", false)
	for i, d := range days {
		wd, ok := weekday(d)
		if !ok {
			f.add("conditions.days["+strconv.Itoa(i)+"]", "must be one of sun, mon, tue, wed, thu, fri, sat")
			continue
		}
		c.closed[wd] = true
	}
	for wd, closed := range c.closed { // normalised, in week order, without repeats
		if closed {
			c.Days = append(c.Days, dayNames[wd])
		}
	}
	return c
}

func loadZone(f *fields, tz string) *time.Location {
	// LoadLocation maps "" to UTC and "Local" to the server's zone; neither
	// is a zone the writer can have meant portably.
	if tz == "" || tz == "Local" {
		f.add("conditions.timezone", "must be an IANA time zone name such as America/Los_Angeles or UTC")
		return nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		f.add("conditions.timezone", "must be an IANA time zone name such as America/Los_Angeles or UTC")
		return nil
	}
	return loc
}

// hour decodes a required hour, -1 when missing or invalid.
func hour(f *fields, name string) int {
	h, ok := f.int(name, true)
	if !ok {
		return -1
	}
	if h < 0 || h > 23 {
		f.add("conditions."+name, "must be between 0 and 23")
		return -1
	}
	return h
}

func weekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	for wd, name := range dayNames {
		if s == name || s == strings.ToLower(time.Weekday(wd).String()) {
			return time.Weekday(wd), true
		}
	}
	return 0, false
}

// Type returns vigil.RuleOffHours.
func (c *OffHours) Type() string { return vigil.RuleOffHours }

// offHours reports whether the instant t is off-hours.
func (c *OffHours) offHours(t time.Time) bool {
	local := t.In(c.loc)
	if c.closed[local.Weekday()] {
		return true
	}
	h := local.Hour()
	if c.StartHour < c.EndHour {
		return h >= c.StartHour && h < c.EndHour
	}
	return h >= c.StartHour || h < c.EndHour
}

func (c *OffHours) evaluate(_ context.Context, e *vigil.Event, _ History) (finding, bool, error) {
	if !c.pattern.Match(e.Action) {
		return finding{}, false, nil
	}
	at := e.OccurredAt
	if at.IsZero() {
		at = e.CreatedAt
	}
	if !c.offHours(at) {
		return finding{}, false, nil
	}
	local := at.In(c.loc)
	why := fmt.Sprintf("inside the off-hours window %02d:00-%02d:00", c.StartHour, c.EndHour)
	if c.closed[local.Weekday()] {
		why = "on a closed day"
	}
	return finding{
		subject: e.ActorID,
		reason: fmt.Sprintf("Actor %s performed %s at %s %s (%s), %s.",
			e.ActorID, e.Action, local.Format("15:04 MST"), c.Timezone, local.Format("Mon 2006-01-02"), why),
	}, true, nil
}
