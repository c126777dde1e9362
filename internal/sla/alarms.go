package sla

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/internal/notify"
)

// staleAfterBreach is how long a breach or escalation alert is worth a push when no
// further escalation step follows.
const staleAfterBreach = 24 * time.Hour

// minAlertLife is the least time a breach or escalation alert stays worth a push after
// it is raised, even when the next step is due sooner (an alarm that ran late behind a
// burst): the person it goes to still has to hear of the breach.
const minAlertLife = 15 * time.Minute

// Fire runs one alarm of a clock, in one transaction with the clock's row locked. It
// does nothing when the clock has moved on since the job was scheduled (another
// generation: paused, resumed, restarted), is no longer in the state the alarm is for
// (met, paused, cancelled, already warned or breached, escalated past the level), or its
// work order is gone or cancelled. That check on the locked row is what makes an alarm
// fire once however many times its job runs and however many instances run it.
func (s *Service) Fire(ctx context.Context, job AlarmJob) error {
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		c, wo, err := s.store.LockAlarm(ctx, job.ClockID)
		if errors.Is(err, apperr.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if c.Generation != job.Generation || wo.Deleted || wo.Status == "cancelled" {
			return nil
		}
		now := s.clock()
		switch job.Alarm {
		case AlarmWarn:
			if c.State != StateRunning || c.WarnedAt != nil {
				return nil
			}
			return s.warn(ctx, c, wo, now)
		case AlarmBreach:
			if c.State != StateRunning {
				return nil
			}
			return s.breachDue(ctx, c, wo, now)
		case AlarmEscalate:
			if c.State != StateBreached || c.Level != job.Level-1 || job.Level < 2 {
				return nil
			}
			return s.escalate(ctx, c, wo, job.Level, now)
		}
		return nil
	})
}

func (s *Service) warn(ctx context.Context, c *TargetClock, wo *WorkOrderRef, now time.Time) error {
	c.WarnedAt = &now
	if err := s.store.UpdateClockWithEvent(ctx, c, s.event(c, KindWarned, c.WarnAt, now, nil)); err != nil {
		return err
	}
	to, err := s.owner(ctx, wo)
	if err != nil {
		return err
	}
	en, zh := targetLabel(c.Target)
	due := localTime(*c.Deadline, wo.Timezone)
	return s.notify(ctx, to, c, wo, "sla_warning", *c.Deadline, 0,
		"SLA warning: "+en, fmt.Sprintf("“%s” is due at %s.", wo.Title, due),
		"SLA 预警："+zh, fmt.Sprintf("工单“%s”将于 %s 到期。", wo.Title, due))
}

// breachBatch is how many due clocks one breach job breaches at most.
const breachBatch = 200

// breachDue breaches c and, in the same transaction, every other running clock already
// past its deadline that no one else holds (up to breachBatch): when thousands of
// deadlines fall in the same minute, one job does a few hundred breaches with one insert
// of their escalation jobs and one of their notifications, and the other jobs of the
// burst find their clock breached and end after one query. Each clock still breaches
// once: it is locked, and only a running clock is breached.
func (s *Service) breachDue(ctx context.Context, c *TargetClock, wo *WorkOrderRef, now time.Time) error {
	due := []DueClock{{Clock: c, WorkOrder: wo}}
	more, err := s.store.LockDueClocks(ctx, now, c.ID, breachBatch-1)
	if err != nil {
		return err
	}
	for _, d := range more {
		if !d.WorkOrder.Deleted && d.WorkOrder.Status != "cancelled" {
			due = append(due, d)
		}
	}
	out := &deferred{}
	bctx := context.WithValue(ctx, deferredKey{}, out)
	for _, d := range due {
		if err := s.breach(bctx, d.Clock, d.WorkOrder, now); err != nil {
			return err
		}
	}
	if err := s.jobs.Schedule(ctx, out.jobs...); err != nil {
		return err
	}
	return s.notifier.Notify(ctx, out.notes...)
}

// deferred collects the jobs and notifications of a batch of alarms, written at the end
// with one insert each.
type deferred struct {
	jobs  []jobs.Scheduled
	notes []notify.Notification
}

type deferredKey struct{}

func deferredOf(ctx context.Context) *deferred {
	d, _ := ctx.Value(deferredKey{}).(*deferred)
	return d
}

func (s *Service) breach(ctx context.Context, c *TargetClock, wo *WorkOrderRef, now time.Time) error {
	c.State, c.BreachedAt, c.Level = StateBreached, &now, 1
	level := 1
	if err := s.store.UpdateClockWithEvent(ctx, c, s.event(c, KindBreached, c.Deadline, now, &level)); err != nil {
		return err
	}
	stale, err := s.scheduleEscalation(ctx, c, 2)
	if err != nil {
		return err
	}
	stale = latest(stale, now.Add(minAlertLife))
	to, err := s.owner(ctx, wo)
	if err != nil {
		return err
	}
	en, zh := targetLabel(c.Target)
	due := localTime(*c.Deadline, wo.Timezone)
	return s.notify(ctx, to, c, wo, "sla_breached", stale, 1,
		"SLA breached: "+en, fmt.Sprintf("“%s” was due at %s.", wo.Title, due),
		"SLA 超时："+zh, fmt.Sprintf("工单“%s”已于 %s 超时。", wo.Title, due))
}

// escalate raises a breached clock to level: supervisors hear of it at level 2, the
// project's admins from level 3 (the organization's admins when the project has none).
func (s *Service) escalate(ctx context.Context, c *TargetClock, wo *WorkOrderRef, level int, now time.Time) error {
	c.Level = level
	if err := s.store.UpdateClockWithEvent(ctx, c, s.event(c, KindEscalated, s.stepAt(c, level), now, &level)); err != nil {
		return err
	}
	stale, err := s.scheduleEscalation(ctx, c, level+1)
	if err != nil {
		return err
	}
	stale = latest(stale, now.Add(minAlertLife))
	var to []uuid.UUID
	if level == 2 {
		if to, err = s.store.Members(ctx, wo.ProjectID, "supervisor"); err != nil {
			return err
		}
	}
	if len(to) == 0 {
		if to, err = s.admins(ctx, wo.ProjectID); err != nil {
			return err
		}
	}
	en, zh := targetLabel(c.Target)
	due := localTime(*c.Deadline, wo.Timezone)
	return s.notify(ctx, to, c, wo, "sla_escalated", stale, level,
		fmt.Sprintf("SLA escalation (level %d): %s", level, en), fmt.Sprintf("“%s” was due at %s and is still open.", wo.Title, due),
		fmt.Sprintf("SLA 升级（第 %d 级）：%s", level, zh), fmt.Sprintf("工单“%s”已于 %s 超时，仍未处理。", wo.Title, due))
}

// stepAt is when escalation level (2, 3, …) of a breached clock is due.
func (s *Service) stepAt(c *TargetClock, level int) *time.Time {
	if c.Deadline == nil || c.EscalateEvery <= 0 {
		return nil
	}
	at := c.Deadline.Add(time.Duration(level-1) * c.EscalateEvery)
	return &at
}

// scheduleEscalation schedules level next of the chain and returns the moment the
// current alert goes stale: that next step, or a day after the deadline when the
// chain ends here.
func (s *Service) scheduleEscalation(ctx context.Context, c *TargetClock, next int) (time.Time, error) {
	at := s.stepAt(c, next)
	if at == nil || next > s.opts.MaxLevel {
		return c.Deadline.Add(staleAfterBreach), nil
	}
	job := jobs.Scheduled{Args: AlarmJob{ClockID: c.ID, Alarm: AlarmEscalate, Generation: c.Generation, Level: next}, At: *at}
	if d := deferredOf(ctx); d != nil {
		d.jobs = append(d.jobs, job)
		return *at, nil
	}
	return *at, s.jobs.Schedule(ctx, job)
}

// owner is who hears first: the work order's owner, its supervisors while it has none.
func (s *Service) owner(ctx context.Context, wo *WorkOrderRef) ([]uuid.UUID, error) {
	if wo.OwnerID != nil {
		return []uuid.UUID{*wo.OwnerID}, nil
	}
	to, err := s.store.Members(ctx, wo.ProjectID, "supervisor")
	if err != nil || len(to) > 0 {
		return to, err
	}
	return s.admins(ctx, wo.ProjectID)
}

func (s *Service) admins(ctx context.Context, projectID uuid.UUID) ([]uuid.UUID, error) {
	to, err := s.store.Members(ctx, projectID, "admin")
	if err != nil || len(to) > 0 {
		return to, err
	}
	info, err := s.store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return s.store.OrgAdmins(ctx, info.OrganizationID)
}

func (s *Service) event(c *TargetClock, kind string, due *time.Time, at time.Time, level *int) ClockEvent {
	return ClockEvent{ClockID: c.ID, WorkOrderID: c.WorkOrderID, ProjectID: c.ProjectID, Target: c.Target,
		Kind: kind, Due: due, At: at, Level: level, Data: map[string]string{}}
}

// notify sends one urgent alert per recipient; a newer alert of the same kind about
// the same clock replaces the older one on the phone.
func (s *Service) notify(ctx context.Context, to []uuid.UUID, c *TargetClock, wo *WorkOrderRef, kind string, stale time.Time, level int,
	titleEN, bodyEN, titleZH, bodyZH string,
) error {
	ns := make([]notify.Notification, 0, len(to))
	for _, u := range to {
		data := map[string]string{"work_order_id": wo.ID.String(), "clock_id": c.ID.String(), "target": c.Target,
			"deadline": c.Deadline.UTC().Format(time.RFC3339)}
		if level > 0 {
			data["level"] = strconv.Itoa(level)
		}
		ns = append(ns, notify.Notification{UserID: u, ProjectID: wo.ProjectID, Kind: kind, RecordType: "work_order", RecordID: wo.ID,
			TitleEN: titleEN, TitleZH: titleZH, BodyEN: bodyEN, BodyZH: bodyZH, Data: data,
			Urgent: true, StaleAt: stale, CollapseKey: "sla:" + c.ID.String() + ":" + kind})
	}
	if d := deferredOf(ctx); d != nil {
		d.notes = append(d.notes, ns...)
		return nil
	}
	return s.notifier.Notify(ctx, ns...)
}

// targetLabel names the seeded targets in both languages; others by their code.
func targetLabel(code string) (en, zh string) {
	switch code {
	case "created":
		return "work order created", "建单"
	case "contacted":
		return "customer contacted", "联系客户"
	case "on_site":
		return "on site", "到场"
	case "feedback":
		return "feedback given", "反馈"
	case "resolved":
		return "resolved", "完成"
	}
	return code, code
}

// locations caches time.LoadLocation, which reads and parses the zone file on every
// call (a few per cent of an alarm's CPU when thousands fire a second).
var locations sync.Map

// localTime shows t on the project's wall clock.
func localTime(t time.Time, tz string) string {
	if loc, ok := locations.Load(tz); ok {
		return t.In(loc.(*time.Location)).Format("2006-01-02 15:04")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(tz, loc)
	return t.In(loc).Format("2006-01-02 15:04")
}
