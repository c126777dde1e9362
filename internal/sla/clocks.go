package sla

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/jobs"
)

// restartedByReopen are the ends of targets a reopened work order runs again.
var restartedByReopen = []string{EventResolved, EventConfirmed, EventClosed}

// Observe implements Observer: it starts, stops, pauses, resumes, restarts and cancels
// the work order's clocks, and schedules their alarms, all in the caller's transaction.
// The events of one call are applied in order in memory and written at the end, so a
// target that starts and stops within the call (reported → created) is stored once,
// already met, and schedules nothing.
func (s *Service) Observe(ctx context.Context, events ...Event) error {
	if len(events) == 0 {
		return nil
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		r := &round{s: s, clocks: map[uuid.UUID][]*TargetClock{}, calendars: map[uuid.UUID]Clock{}, changed: map[*TargetClock]bool{}, policies: map[string]*Policy{}}
		for _, ev := range events {
			if err := r.apply(ctx, ev); err != nil {
				return err
			}
		}
		return r.flush(ctx)
	})
}

// round is the work of one Observe call.
type round struct {
	s         *Service
	clocks    map[uuid.UUID][]*TargetClock // by work order, loaded and locked once
	fresh     []*TargetClock               // started in this round
	changed   map[*TargetClock]bool        // loaded clocks written back
	resched   []*TargetClock               // clocks whose alarms are scheduled anew
	events    []ClockEvent
	calendars map[uuid.UUID]Clock // business-hours clock by project
	policies  map[string]*Policy  // by project, work type and priority
}

func (r *round) load(ctx context.Context, workOrderID uuid.UUID) ([]*TargetClock, error) {
	if cs, ok := r.clocks[workOrderID]; ok {
		return cs, nil
	}
	rows, err := r.s.store.LockClocks(ctx, workOrderID)
	if err != nil {
		return nil, err
	}
	cs := make([]*TargetClock, len(rows))
	for i := range rows {
		cs[i] = &rows[i]
	}
	r.clocks[workOrderID] = cs
	return cs, nil
}

// timeOf is the clock a target runs on: the project's business hours or every minute.
func (r *round) timeOf(ctx context.Context, c *TargetClock) (Clock, error) {
	if !c.BusinessHours {
		return Always{}, nil
	}
	if cal, ok := r.calendars[c.ProjectID]; ok {
		return cal, nil
	}
	info, err := r.s.store.Project(ctx, c.ProjectID)
	if err != nil {
		return nil, err
	}
	doc, err := r.s.calendarDoc(ctx, c.ProjectID, info)
	if err != nil {
		return nil, err
	}
	cal := calendarOf(doc)
	r.calendars[c.ProjectID] = cal
	return cal, nil
}

func (r *round) record(c *TargetClock, kind string, due *time.Time, at time.Time, data map[string]string) {
	if data == nil {
		data = map[string]string{}
	}
	r.events = append(r.events, ClockEvent{ClockID: c.ID, WorkOrderID: c.WorkOrderID, ProjectID: c.ProjectID,
		Target: c.Target, Kind: kind, Due: due, At: at, Data: data})
}

func (r *round) touch(c *TargetClock) {
	if !slices.Contains(r.fresh, c) {
		r.changed[c] = true
	}
}

func (r *round) apply(ctx context.Context, ev Event) error {
	cs, err := r.load(ctx, ev.WorkOrderID)
	if err != nil {
		return err
	}
	at := ev.At.UTC()
	switch ev.Name {
	case EventCancelled:
		for _, c := range cs {
			if c.State == StateRunning || c.State == StatePaused || c.State == StateBreached {
				c.State, c.Generation = StateCancelled, c.Generation+1
				c.Deadline, c.WarnAt = nil, nil
				r.touch(c)
				r.record(c, KindCancelled, nil, at, nil)
			}
		}
		return nil
	case EventWaitingCustomer:
		for _, c := range cs {
			if c.State == StateRunning {
				if err := r.pause(ctx, c, at); err != nil {
					return err
				}
			}
		}
		return nil
	case EventCustomerBack:
		for _, c := range cs {
			if c.State == StatePaused {
				if err := r.resume(ctx, c, at, KindResumed, nil); err != nil {
					return err
				}
			}
		}
		return nil
	case EventReopened:
		for _, c := range cs {
			if slices.Contains(restartedByReopen, c.To) && (c.State == StateMet || c.State == StateBreached) {
				c.Used, c.RunningSince = 0, nil
				c.WarnedAt, c.BreachedAt, c.MetAt, c.Level = nil, nil, nil, 0
				if err := r.resume(ctx, c, at, KindStarted, map[string]string{"restart": "reopened"}); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, c := range cs {
		if c.To == ev.Name && (c.State == StateRunning || c.State == StatePaused || c.State == StateBreached) {
			if err := r.stop(ctx, c, at); err != nil {
				return err
			}
		}
	}
	return r.start(ctx, ev, cs, at)
}

// start begins the targets of the work order's policy that start at ev and have no clock yet.
func (r *round) start(ctx context.Context, ev Event, cs []*TargetClock, at time.Time) error {
	key := ev.ProjectID.String() + "/" + ev.WorkType + "/" + ev.Priority
	p, ok := r.policies[key]
	if !ok {
		var err error
		if p, err = r.s.policy(ctx, ev.ProjectID, ev.WorkType, ev.Priority); err != nil {
			return err
		}
		r.policies[key] = p
	}
	for _, t := range p.Targets {
		if t.From != ev.Name || slices.ContainsFunc(cs, func(c *TargetClock) bool { return c.Target == t.Code }) {
			continue
		}
		id, err := uuid.NewV7()
		if err != nil {
			return apperr.Internal("clock id: %w", err)
		}
		c := &TargetClock{ID: id, WorkOrderID: ev.WorkOrderID, ProjectID: ev.ProjectID, Target: t.Code, From: t.From, To: t.To,
			Allowance: time.Duration(t.Minutes) * time.Minute, BusinessHours: t.BusinessHours, WarnShare: t.WarnShare,
			EscalateEvery: time.Duration(t.EscalateEveryMinutes) * time.Minute, State: StateRunning, Generation: 1}
		r.fresh = append(r.fresh, c)
		cs = append(cs, c)
		if err := r.resume(ctx, c, at, KindStarted, nil); err != nil {
			return err
		}
	}
	r.clocks[ev.WorkOrderID] = cs
	return nil
}

// resume runs a clock from at (a start, a resume, a restart): a new generation, a new
// deadline, and its alarms scheduled anew.
func (r *round) resume(ctx context.Context, c *TargetClock, at time.Time, kind string, data map[string]string) error {
	clock, err := r.timeOf(ctx, c)
	if err != nil {
		return err
	}
	c.RunningSince, c.State = &at, StateRunning
	if kind != KindStarted || !slices.Contains(r.fresh, c) {
		c.Generation++
	}
	if err := r.deadlines(c, clock); err != nil {
		return err
	}
	r.touch(c)
	if !slices.Contains(r.resched, c) {
		r.resched = append(r.resched, c)
	}
	r.record(c, kind, c.Deadline, at, data)
	return nil
}

// deadlines sets the deadline and warning time of a running clock. A calendar with no
// opening hours in the coming year falls back to the 24-hour clock rather than never
// warning.
func (r *round) deadlines(c *TargetClock, clock Clock) error {
	run := c.run()
	deadline, err := run.Deadline(clock)
	if errors.Is(err, ErrNeverOpen) {
		clock = Always{}
		deadline, err = run.Deadline(clock)
	}
	if err != nil {
		return apperr.Internal("deadline: %w", err)
	}
	warn, err := run.WarnAt(clock, c.WarnShare)
	if err != nil {
		return apperr.Internal("warning time: %w", err)
	}
	c.Deadline, c.WarnAt = &deadline, &warn
	return nil
}

func (r *round) pause(ctx context.Context, c *TargetClock, at time.Time) error {
	clock, err := r.timeOf(ctx, c)
	if err != nil {
		return err
	}
	run := c.run().Pause(clock, at)
	c.Used, c.RunningSince, c.Deadline, c.WarnAt = run.Used, nil, nil, nil
	c.State, c.Generation = StatePaused, c.Generation+1
	r.touch(c)
	r.record(c, KindPaused, nil, at, map[string]string{"used_seconds": strconv.FormatFloat(c.Used.Seconds(), 'f', 0, 64)})
	return nil
}

// stop ends a clock at its target's end: met, late when the allowance was used up.
func (r *round) stop(ctx context.Context, c *TargetClock, at time.Time) error {
	clock, err := r.timeOf(ctx, c)
	if err != nil {
		return err
	}
	late := c.State == StateBreached || c.run().Elapsed(clock, at) > c.Allowance
	due := c.Deadline
	c.Used = c.run().Elapsed(clock, at)
	c.RunningSince, c.WarnAt = nil, nil
	c.State, c.MetAt, c.Generation = StateMet, &at, c.Generation+1
	r.touch(c)
	r.record(c, KindMet, due, at, map[string]string{"late": strconv.FormatBool(late)})
	return nil
}

// flush writes the round: new clocks, changed clocks, events, and the alarms of every
// clock still running, in one insert each.
func (r *round) flush(ctx context.Context) error {
	if len(r.fresh) > 0 {
		if err := r.s.store.InsertClocks(ctx, r.fresh); err != nil {
			return err
		}
	}
	changed := make([]*TargetClock, 0, len(r.changed))
	for c := range r.changed {
		changed = append(changed, c)
	}
	slices.SortFunc(changed, func(a, b *TargetClock) int { return slices.Compare(a.ID[:], b.ID[:]) })
	for _, c := range changed {
		if err := r.s.store.UpdateClock(ctx, c); err != nil {
			return err
		}
	}
	if len(r.events) > 0 {
		if err := r.s.store.InsertEvents(ctx, r.events); err != nil {
			return err
		}
	}
	var js []jobs.Scheduled
	for _, c := range r.resched {
		if c.State != StateRunning || c.Deadline == nil {
			continue
		}
		if c.WarnedAt == nil && c.WarnAt != nil && c.WarnAt.Before(*c.Deadline) {
			js = append(js, jobs.Scheduled{Args: AlarmJob{ClockID: c.ID, Alarm: AlarmWarn, Generation: c.Generation}, At: *c.WarnAt})
		}
		js = append(js, jobs.Scheduled{Args: AlarmJob{ClockID: c.ID, Alarm: AlarmBreach, Generation: c.Generation}, At: *c.Deadline})
	}
	return r.s.jobs.Schedule(ctx, js...)
}

// WorkOrderSLA returns a work order's clocks and SLA events (project admins,
// supervisors and the work order's owner).
func (s *Service) WorkOrderSLA(ctx context.Context, workOrderID uuid.UUID) (*WorkOrderSLA, error) {
	wo, err := s.store.WorkOrder(ctx, workOrderID)
	if err != nil {
		return nil, err
	}
	if wo.Deleted {
		return nil, apperr.NotFound("work order")
	}
	p, err := authz.Require(ctx, "work order", wo.ProjectID)
	if err != nil {
		return nil, err
	}
	if !p.Has(wo.ProjectID, managers...) && (wo.OwnerID == nil || *wo.OwnerID != p.UserID) {
		return nil, apperr.Forbidden("only the owner, supervisors and project admins see a work order's SLA clocks")
	}
	clocks, err := s.store.Clocks(ctx, workOrderID)
	if err != nil {
		return nil, err
	}
	events, err := s.store.Events(ctx, workOrderID)
	if err != nil {
		return nil, err
	}
	for i := range clocks {
		c := &clocks[i]
		c.AllowanceMinutes = int(c.Allowance / time.Minute)
		c.UsedSeconds = c.Used.Seconds()
		if c.EscalateEvery > 0 {
			m := int(c.EscalateEvery / time.Minute)
			c.EscalateEveryMinutes = &m
		}
	}
	return &WorkOrderSLA{WorkOrderID: workOrderID, Clocks: clocks, Events: events}, nil
}
