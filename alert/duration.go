package alert

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Duration is a window or lookback in conditions. It is written either as
// a Go duration ("90s", "15m", "24h", "1h30m") or as a whole number of
// days ("30d"), since lookbacks are thought of in days and Go has no day
// unit. A day is 24 hours: windows are measured on the server's UTC clock,
// where days have no DST.
type Duration time.Duration

const day = Duration(24 * time.Hour)

// ParseDuration parses the two forms Duration accepts.
func ParseDuration(s string) (Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		days, err := strconv.ParseInt(n, 10, 64)
		if err != nil || days > 100000 {
			return 0, errors.New("must be a duration such as \"15m\", \"24h\" or \"30d\"")
		}
		return Duration(days) * day, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("must be a duration such as \"15m\", \"24h\" or \"30d\"")
	}
	return Duration(d), nil
}

// String writes whole days as "Nd" and anything else in Go's form without
// trailing zero units ("90m" becomes "1h30m").
func (d Duration) String() string {
	if d > 0 && d%day == 0 {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalJSON writes the duration as a string in its short form, so a
// stored rule reads back the way an administrator would write it.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON accepts what ParseDuration accepts.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
