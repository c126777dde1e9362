package sla

import (
	"errors"
	"time"
)

// Run is the state of one running target: how much of its allowance is used, and since
// when it runs (nil while paused). Pausing banks the counted time; resuming starts a new
// run, so the deadline moves by exactly the time spent paused (counted on the target's
// clock: a pause over a night costs nothing on business hours).
type Run struct {
	Allowance time.Duration
	Used      time.Duration
	Since     *time.Time
}

// ErrPaused says a paused target has no deadline.
var ErrPaused = errors.New("sla: the target is paused")

// Start begins a target of allowance at t.
func Start(allowance time.Duration, t time.Time) Run {
	return Run{Allowance: allowance, Since: &t}
}

// Deadline is when the allowance runs out on clock.
func (r Run) Deadline(clock Clock) (time.Time, error) {
	return r.at(clock, r.Allowance)
}

// WarnAt is when share (0–1) of the allowance is used: the warning's moment. A moment
// already passed at resume gives the resume time.
func (r Run) WarnAt(clock Clock, share float64) (time.Time, error) {
	return r.at(clock, time.Duration(float64(r.Allowance)*share))
}

func (r Run) at(clock Clock, mark time.Duration) (time.Time, error) {
	if r.Since == nil {
		return time.Time{}, ErrPaused
	}
	return clock.Add(*r.Since, max(mark-r.Used, 0))
}

// Pause stops the target at t; pausing a paused target changes nothing.
func (r Run) Pause(clock Clock, t time.Time) Run {
	if r.Since == nil {
		return r
	}
	r.Used += clock.Between(*r.Since, t)
	r.Since = nil
	return r
}

// Resume restarts a paused target at t; resuming a running one changes nothing.
func (r Run) Resume(t time.Time) Run {
	if r.Since != nil {
		return r
	}
	r.Since = &t
	return r
}

// Elapsed is the counted time used by t.
func (r Run) Elapsed(clock Clock, t time.Time) time.Duration {
	if r.Since == nil {
		return r.Used
	}
	return r.Used + clock.Between(*r.Since, t)
}
