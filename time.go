package vigil

import (
	"strconv"
	"time"
)

// TimeSyntax is the set of written forms a field's time may take. Every
// time a client gives goes through ParseTime with one of them, so the
// range, offset and fraction rules are the same everywhere.
type TimeSyntax uint8

const (
	// TimeInstant is an RFC 3339 date-time with seconds and an offset
	// ("2024-06-15T08:30:00Z", "...08:30:00.5+02:00"), which is also
	// FHIR's instant: an event's occurred_at, an AuditEvent's recorded.
	TimeInstant TimeSyntax = iota
	// TimeInstantOrDate also takes a full date ("2024-06-15"), standing
	// for its first instant in UTC: query bounds, report and export
	// parameters.
	TimeInstantOrDate
	// TimeFHIRDateTime is FHIR's dateTime: a year, a month, a day, or an
	// instant ("2024", "2024-06", "2024-06-15", "2024-06-15T08:30:00Z").
	TimeFHIRDateTime
	// TimeFHIRSearch is the value of a FHIR date search parameter: a
	// dateTime of any precision down to the minute, the offset optional
	// (a time without one is read as UTC).
	TimeFHIRSearch
)

// Span is a time as a client wrote it: the first instant it names and the
// first instant after the stretch its precision covers ("2024" covers the
// year, "2024-06-15T08:30" the minute, an instant with a fraction one
// nanosecond). Both are UTC.
type Span struct {
	Start, End time.Time
}

// TimeError is a time ParseTime refused; its text follows the field's
// name ("must be an RFC 3339 timestamp ...").
type TimeError string

func (e TimeError) Error() string { return string(e) }

var (
	minTime = time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(MaxYear+1, 1, 1, 0, 0, 0, 0, time.UTC) // exclusive
)

// timeRangeMessage states the range every time must lie in.
var timeRangeMessage = "must lie between " + minTime.Format(time.RFC3339Nano) + " and " +
	maxTime.Add(-time.Nanosecond).Format(time.RFC3339Nano)

var syntaxMessages = [...]string{
	TimeInstant:       "must be an RFC 3339 timestamp with seconds and an offset, such as 2024-06-15T08:30:00Z",
	TimeInstantOrDate: "must be an RFC 3339 timestamp such as 2024-06-15T08:30:00Z or a date such as 2024-06-15",
	TimeFHIRDateTime:  "must be a FHIR dateTime such as 2024, 2024-06, 2024-06-15 or 2024-06-15T08:30:00Z",
	TimeFHIRSearch:    "must be a FHIR date or dateTime such as 2024-06-15 or 2024-06-15T08:30:00Z",
}

// CheckTime returns what is wrong with t as a time of an event or a bound
// (outside the years MinYear to MaxYear), or "".
func CheckTime(t time.Time) string {
	if t.Before(minTime) || !t.Before(maxTime) {
		return timeRangeMessage
	}
	return ""
}

// precision is how much of a time was written.
type precision uint8

const (
	byYear precision = iota
	byMonth
	byDay
	byMinute
	bySecond
	byFraction
)

// ParseTime reads a time a client gave in one of syntax's forms. It
// refuses, each with its own message: another form; a date or time that
// does not exist (2024-02-30, 25:00); an offset beyond ±14:00 (RFC 3339
// would allow ±23:59, but no zone is that far and FHIR refuses it); more
// than nine fractional digits (they would be cut); a leap second (Go's
// time cannot hold it); a time outside the years MinYear to MaxYear.
// Letters are upper case (T, Z), as FHIR requires.
func ParseTime(s string, syntax TimeSyntax) (Span, error) {
	bad := TimeError(syntaxMessages[syntax])
	p := timeText{s: s}
	year, ok := p.digits(4)
	if !ok {
		return Span{}, bad
	}
	month, day, hour, minute, sec, nsec := 1, 1, 0, 0, 0, 0
	prec := byYear
	fhir := syntax == TimeFHIRDateTime || syntax == TimeFHIRSearch
	if p.next('-') {
		if month, ok = p.digits(2); !ok {
			return Span{}, bad
		}
		prec = byMonth
		if p.next('-') {
			if day, ok = p.digits(2); !ok {
				return Span{}, bad
			}
			prec = byDay
		}
	}
	offset, zoned := 0, false
	if p.next('T') {
		if prec != byDay {
			return Span{}, bad
		}
		if hour, ok = p.digits(2); !ok || !p.next(':') {
			return Span{}, bad
		}
		if minute, ok = p.digits(2); !ok {
			return Span{}, bad
		}
		prec = byMinute
		if p.next(':') {
			if sec, ok = p.digits(2); !ok {
				return Span{}, bad
			}
			prec = bySecond
			if p.next('.') {
				n := 0
				for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
					if n < MaxFractionDigits {
						nsec = nsec*10 + int(p.s[p.i]-'0')
					}
					n++
					p.i++
				}
				if n == 0 {
					return Span{}, bad
				}
				if n > MaxFractionDigits {
					return Span{}, TimeError("has " + strconv.Itoa(n) + " fractional digits: times are kept to the nanosecond, at most " +
						strconv.Itoa(MaxFractionDigits) + " digits")
				}
				for range MaxFractionDigits - n {
					nsec *= 10
				}
				prec = byFraction
			}
		}
		switch {
		case p.next('Z'):
			zoned = true
		case p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-'):
			sign := 1
			if p.s[p.i] == '-' {
				sign = -1
			}
			p.i++
			oh, ok1 := p.digits(2)
			colon := p.next(':')
			om, ok2 := p.digits(2)
			if !ok1 || !colon || !ok2 {
				return Span{}, bad
			}
			if om > 59 {
				return Span{}, TimeError("is not a valid time: its offset has minute " + strconv.Itoa(om))
			}
			if oh*60+om > MaxOffsetMinutes {
				return Span{}, TimeError("has the offset " + p.s[p.i-6:p.i] + ": offsets must lie between -" + clock(MaxOffsetMinutes) + " and +" + clock(MaxOffsetMinutes))
			}
			offset, zoned = sign*(oh*60+om)*60, true
		}
	}
	if p.i != len(p.s) {
		return Span{}, bad
	}
	// Which forms the syntax takes.
	switch {
	case prec < byDay && !fhir, prec == byMinute && syntax != TimeFHIRSearch:
		return Span{}, bad
	case prec == byDay && syntax == TimeInstant:
		return Span{}, bad
	case prec > byDay && !zoned && syntax != TimeFHIRSearch:
		return Span{}, bad
	}
	// Whether it names a time that exists.
	switch {
	case month < 1 || month > 12:
		return Span{}, TimeError("is not a valid date: it has month " + strconv.Itoa(month))
	case day < 1 || day > daysIn(year, month):
		return Span{}, TimeError("is not a valid date: " + p.s[:7] + " has no day " + strconv.Itoa(day))
	case hour > 23:
		return Span{}, TimeError("is not a valid time: it has hour " + strconv.Itoa(hour))
	case minute > 59:
		return Span{}, TimeError("is not a valid time: it has minute " + strconv.Itoa(minute))
	case sec == 60:
		return Span{}, TimeError("is a leap second, which cannot be represented: give :59.999999999 or the next second")
	case sec > 59:
		return Span{}, TimeError("is not a valid time: it has second " + strconv.Itoa(sec))
	}
	start := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC).Add(-time.Duration(offset) * time.Second)
	if msg := CheckTime(start); msg != "" {
		return Span{}, TimeError(msg)
	}
	var end time.Time
	switch prec {
	case byYear:
		end = start.AddDate(1, 0, 0)
	case byMonth:
		end = start.AddDate(0, 1, 0)
	case byDay:
		end = start.AddDate(0, 0, 1)
	case byMinute:
		end = start.Add(time.Minute)
	case bySecond:
		end = start.Add(time.Second)
	default:
		end = start.Add(time.Nanosecond)
	}
	return Span{Start: start, End: end}, nil
}

// timeText reads a time's text from the left.
type timeText struct {
	s string
	i int
}

// digits reads exactly n decimal digits.
func (p *timeText) digits(n int) (int, bool) {
	if p.i+n > len(p.s) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(p.s[p.i : p.i+n]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	p.i += n
	return v, true
}

// next consumes c if it comes next.
func (p *timeText) next(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

func daysIn(year, month int) int {
	return time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// clock writes minutes as hh:mm.
func clock(minutes int) string {
	h, m := strconv.Itoa(minutes/60), strconv.Itoa(minutes%60)
	if len(h) < 2 {
		h = "0" + h
	}
	if len(m) < 2 {
		m = "0" + m
	}
	return h + ":" + m
}
