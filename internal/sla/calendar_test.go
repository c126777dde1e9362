package sla

import (
	"errors"
	"testing"
	"time"
)

func shanghai(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// The customer-service desk: Monday to Friday 09:00–12:00 and 13:00–18:00, Saturday
// 09:00–12:00, closed on Sunday; National Day week closed, and the Sunday before it
// worked with Monday's hours (调休).
func deskCalendar(t *testing.T) *Calendar {
	loc := shanghai(t)
	c := &Calendar{Location: loc}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		c.Week[wd] = []Window{{9 * 60, 12 * 60}, {13 * 60, 18 * 60}}
	}
	c.Week[time.Saturday] = []Window{{9 * 60, 12 * 60}}
	c.Holidays = map[Date]bool{}
	for d := 1; d <= 7; d++ {
		c.Holidays[Date{2026, time.October, d}] = true
	}
	c.Workdays = map[Date]time.Weekday{{2026, time.September, 28}: time.Monday}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCalendarAdd(t *testing.T) {
	c := deskCalendar(t)
	loc := c.Location
	at := func(month time.Month, day, h, m int) time.Time { return time.Date(2026, month, day, h, m, 0, 0, loc) }
	tests := []struct {
		name  string
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"within the morning", at(11, 23, 9, 30), time.Hour, at(11, 23, 10, 30)},
		{"across lunch", at(11, 23, 11, 30), time.Hour, at(11, 23, 13, 30)},
		{"reported at lunch", at(11, 23, 12, 15), 2 * time.Hour, at(11, 23, 15, 0)},
		{"across the night", at(11, 23, 17, 0), 2 * time.Hour, at(11, 24, 10, 0)},
		{"reported at night", at(11, 23, 22, 40), 30 * time.Minute, at(11, 24, 9, 30)},
		{"ends exactly at closing", at(11, 23, 16, 0), 2 * time.Hour, at(11, 23, 18, 0)},
		{"Friday into the short Saturday", at(11, 27, 17, 0), 2 * time.Hour, at(11, 28, 10, 0)},
		{"Saturday across the closed Sunday", at(11, 28, 11, 0), 2 * time.Hour, at(11, 30, 10, 0)},
		{"reported on Sunday", at(11, 29, 10, 0), 2 * time.Hour, at(11, 30, 11, 0)},
		{"a full 24 h of business time", at(11, 23, 9, 0), 24 * time.Hour, at(11, 25, 18, 0)}, // 8 h a day: Mon, Tue, Wed
		// Tuesday 30 Sept, 17:00: one hour left that day, then the National Day week is
		// closed and Thursday 8 Oct is the next working day.
		{"into the holiday week", at(9, 30, 17, 0), 2 * time.Hour, at(10, 8, 10, 0)},
		// Sunday 28 Sept is worked (调休) with Monday's hours.
		{"on a make-up working Sunday", at(9, 28, 8, 0), 2 * time.Hour, at(9, 28, 11, 0)},
		{"zero", at(11, 23, 22, 0), 0, at(11, 23, 22, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Add(tt.start, tt.d)
			if err != nil || !got.Equal(tt.want) {
				t.Fatalf("Add(%s, %s) = %s, %v; want %s", tt.start, tt.d, got, err, tt.want)
			}
			// Between is Add's inverse wherever the start is within opening hours.
			if tt.d > 0 {
				if back := c.Between(tt.start, got); back != tt.d {
					t.Fatalf("Between(%s, %s) = %s, want %s", tt.start, got, back, tt.d)
				}
			}
		})
	}
}

func TestCalendarBetween(t *testing.T) {
	c := deskCalendar(t)
	loc := c.Location
	at := func(month time.Month, day, h, m int) time.Time { return time.Date(2026, month, day, h, m, 0, 0, loc) }
	tests := []struct {
		name string
		a, b time.Time
		want time.Duration
	}{
		{"overnight", at(11, 23, 17, 0), at(11, 24, 10, 0), 2 * time.Hour},
		{"a whole week", at(11, 23, 0, 0), at(11, 30, 0, 0), 5*8*time.Hour + 3*time.Hour},
		{"only closed time", at(11, 29, 8, 0), at(11, 29, 20, 0), 0},
		{"backwards", at(11, 24, 10, 0), at(11, 23, 10, 0), 0},
		{"the holiday week", at(10, 1, 0, 0), at(10, 8, 0, 0), 0},
	}
	for _, tt := range tests {
		if got := c.Between(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: Between = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// Opening hours are wall-clock hours: on the day clocks go forward, 09:00–17:00 is
// still 8 hours of business time and a deadline lands on the same wall-clock time.
func TestCalendarAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	c := OfficeHours(berlin, 9*60, 17*60)
	c.Week[time.Sunday] = []Window{{9 * 60, 17 * 60}}
	start := time.Date(2026, time.March, 28, 16, 0, 0, 0, berlin) // Saturday, closed; DST starts Sunday 29th 02:00
	got, err := c.Add(start, 2*time.Hour)
	if want := time.Date(2026, time.March, 29, 11, 0, 0, 0, berlin); err != nil || !got.Equal(want) {
		t.Fatalf("across DST: %s, %v; want %s", got, err, want)
	}
}

func TestCalendarNeverOpen(t *testing.T) {
	c := &Calendar{Location: time.UTC}
	if _, err := c.Add(time.Now(), time.Hour); !errors.Is(err, ErrNeverOpen) {
		t.Fatalf("a calendar without hours: %v", err)
	}
	bad := OfficeHours(time.UTC, 18*60, 9*60)
	if bad.Validate() == nil {
		t.Fatal("a window ending before it starts was accepted")
	}
}

func TestAlways(t *testing.T) {
	start := time.Date(2026, 11, 28, 23, 50, 0, 0, time.UTC)
	if got, _ := (Always{}).Add(start, 30*time.Minute); !got.Equal(start.Add(30 * time.Minute)) {
		t.Fatalf("24 h clock: %s", got)
	}
}

// A complaint's 2-hour contact target on business hours, paused while the customer
// cannot be reached: the pause moves the deadline by the business time it lasted.
func TestRunPauseResume(t *testing.T) {
	c := deskCalendar(t)
	loc := c.Location
	at := func(day, h, m int) time.Time { return time.Date(2026, time.November, day, h, m, 0, 0, loc) }
	r := Start(2*time.Hour, at(23, 16, 0))
	if d, _ := r.Deadline(c); !d.Equal(at(23, 18, 0)) {
		t.Fatalf("deadline %s", d)
	}
	if w, _ := r.WarnAt(c, 0.75); !w.Equal(at(23, 17, 30)) {
		t.Fatalf("warning at %s", w)
	}
	// Paused at 16:30 (30 min used) until 10:00 the next day (1 h of business time).
	r = r.Pause(c, at(23, 16, 30))
	if _, err := r.Deadline(c); !errors.Is(err, ErrPaused) {
		t.Fatalf("a paused target has a deadline: %v", err)
	}
	if again := r.Pause(c, at(23, 17, 0)); again.Used != 30*time.Minute {
		t.Fatalf("pausing twice counted %s", again.Used)
	}
	r = r.Resume(at(24, 10, 0))
	if d, _ := r.Deadline(c); !d.Equal(at(24, 11, 30)) {
		t.Fatalf("deadline after the pause %s, want 11:30", d)
	}
	if got := r.Elapsed(c, at(24, 11, 0)); got != 90*time.Minute {
		t.Fatalf("elapsed %s", got)
	}
	// The warning comes when 90 minutes are used: 60 more after the resume.
	if w, _ := r.WarnAt(c, 0.75); !w.Equal(at(24, 11, 0)) {
		t.Fatalf("warning after the pause %s", w)
	}
}
