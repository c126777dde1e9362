// Package sla measures service-level targets: deadlines on a 24-hour clock or on a
// project's business hours (weekly opening hours, public holidays and the make-up
// working days that come with them in China, 调休), and targets that pause while the
// work waits for the customer.
package sla

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Clock is how a target's time runs.
type Clock interface {
	// Add returns the moment d of counted time after start.
	Add(start time.Time, d time.Duration) (time.Time, error)
	// Between is the counted time from a to b (zero when b is not after a).
	Between(a, b time.Time) time.Duration
}

// Always is the 24-hour clock: every minute counts.
type Always struct{}

// Add implements Clock.
func (Always) Add(start time.Time, d time.Duration) (time.Time, error) { return start.Add(d), nil }

// Between implements Clock.
func (Always) Between(a, b time.Time) time.Duration { return max(b.Sub(a), 0) }

// Window is a span of opening hours within one day, as minutes from local midnight:
// 09:00–18:00 is {540, 1080}. End may be 1440 (midnight at the end of the day).
type Window struct{ From, To int }

// Date is a calendar day in the project's time zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf is the local calendar day of t in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	y, m, d := t.In(loc).Date()
	return Date{y, m, d}
}

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("sla: %q is not a YYYY-MM-DD date", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Calendar is a project's business hours.
type Calendar struct {
	Location *time.Location
	// Week holds the opening hours of each weekday (index time.Weekday); none: closed.
	Week [7][]Window
	// Holidays are closed whatever their weekday.
	Holidays map[Date]bool
	// Workdays are days worked although their weekday is closed (调休), with the hours
	// of a working day: Workdays[d] names the weekday whose hours apply.
	Workdays map[Date]time.Weekday
}

// maxDays bounds a search for opening hours: a calendar that opens less than once in
// this many days is refused rather than searched for ever.
const maxDays = 400

// ErrNeverOpen says the calendar has no opening hours within maxDays of a moment.
var ErrNeverOpen = errors.New("sla: the calendar has no business hours in the coming year")

// Validate checks the windows are in order, within the day and do not overlap.
func (c *Calendar) Validate() error {
	if c.Location == nil {
		return errors.New("sla: the calendar needs a time zone")
	}
	for wd, ws := range c.Week {
		prev := 0
		for i, w := range ws {
			if w.From < 0 || w.To > 24*60 || w.From >= w.To || (i > 0 && w.From < prev) {
				return fmt.Errorf("sla: %s's opening hours must be in order, within the day and not overlap", time.Weekday(wd))
			}
			prev = w.To
		}
	}
	return nil
}

// windows are the opening hours of day d.
func (c *Calendar) windows(d Date) []Window {
	if c.Holidays[d] {
		return nil
	}
	if wd, ok := c.Workdays[d]; ok {
		return c.Week[wd]
	}
	return c.Week[c.midnight(d).Weekday()]
}

// midnight is the start of day d (time.Date normalises a day that has no midnight
// because of a DST change).
func (c *Calendar) midnight(d Date) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, c.Location)
}

// at is the moment minute m of day d begins, local wall clock (DST-safe).
func (c *Calendar) at(d Date, m int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, m, 0, 0, c.Location)
}

func (d Date) next() Date {
	t := time.Date(d.Year, d.Month, d.Day+1, 12, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// Add implements Clock: it walks the opening hours from start until d is used up. The
// deadline of a target started out of hours counts from the next opening.
func (c *Calendar) Add(start time.Time, d time.Duration) (time.Time, error) {
	if d <= 0 {
		return start, nil
	}
	day := DateOf(start, c.Location)
	for range maxDays {
		for _, w := range c.windows(day) {
			from, to := c.at(day, w.From), c.at(day, w.To)
			if !to.After(start) {
				continue
			}
			from = latest(from, start)
			left := to.Sub(from)
			if d <= left {
				return from.Add(d), nil
			}
			d -= left
		}
		day = day.next()
	}
	return time.Time{}, ErrNeverOpen
}

// Between implements Clock: the opening hours between a and b.
func (c *Calendar) Between(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	var total time.Duration
	last := DateOf(b, c.Location)
	for day := DateOf(a, c.Location); ; day = day.next() {
		for _, w := range c.windows(day) {
			from, to := latest(c.at(day, w.From), a), earliest(c.at(day, w.To), b)
			if to.After(from) {
				total += to.Sub(from)
			}
		}
		if day == last {
			return total
		}
	}
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// OfficeHours is a calendar open the same hours Monday to Friday.
func OfficeHours(loc *time.Location, from, to int) *Calendar {
	c := &Calendar{Location: loc}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		c.Week[wd] = []Window{{from, to}}
	}
	return c
}

// Sorted returns the holiday dates in order (for documents and responses).
func (c *Calendar) Sorted() []Date {
	out := make([]Date, 0, len(c.Holidays))
	for d := range c.Holidays {
		out = append(out, d)
	}
	slices.SortFunc(out, func(a, b Date) int { return c.midnight(a).Compare(c.midnight(b)) })
	return out
}
