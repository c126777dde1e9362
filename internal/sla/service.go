package sla

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/internal/notify"
)

// managers set a project's policies and calendar and see every work order's clocks.
var managers = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor}

// Options tune the service.
type Options struct {
	// WarnShare is the share of a target's allowance after which it warns, when the
	// target names none (0: 0.75).
	WarnShare float64
	// EscalateEvery is the escalation step of a target that names none (0: 30 min).
	EscalateEvery time.Duration
	// MaxLevel is the last escalation level (0: 5); the chain stops there.
	MaxLevel int
}

// Service keeps SLA policies and calendars, runs the clocks of work orders (it is the
// work order service's Observer) and fires their alarms.
type Service struct {
	store    Store
	tx       Tx
	jobs     jobs.Scheduler
	notifier notify.Notifier
	now      TimeSource
	opts     Options
}

// NewService returns the service; jobs schedules the alarms and notifier tells people
// about them, both in the transaction of the change; now is the clock (nil: the system's).
func NewService(store Store, tx Tx, scheduler jobs.Scheduler, notifier notify.Notifier, now TimeSource, opts Options) *Service {
	if now == nil {
		now = time.Now
	}
	if opts.WarnShare <= 0 || opts.WarnShare >= 1 {
		opts.WarnShare = 0.75
	}
	if opts.EscalateEvery <= 0 {
		opts.EscalateEvery = 30 * time.Minute
	}
	if opts.MaxLevel <= 0 {
		opts.MaxLevel = 5
	}
	return &Service{store: store, tx: tx, jobs: scheduler, notifier: notifier, now: now, opts: opts}
}

var _ Observer = (*Service)(nil)

func (s *Service) clock() time.Time { return s.now().UTC() }

// Limits of a policy.
const (
	maxTargets       = 20
	maxMinutes       = 365 * 24 * 60
	maxEscalateEvery = 7 * 24 * 60
)

var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// DefaultTargets are the targets of a work type and priority for a project that has
// set no policy of its own: the work order is created within 10 minutes of the
// report; complaints and inquiries contact the customer within 2 hours and complaints
// give feedback within 24 hours; other work is on site within 30 minutes (emergency),
// 1 hour (urgent) or 2 hours (normal); everything is resolved within 4 hours
// (emergency), 24 hours (urgent) or 72 hours (normal). All on the 24-hour clock.
func (s *Service) DefaultTargets(workType, priority string) []Target {
	t := func(code, from, to string, minutes int) Target {
		return Target{Code: code, From: from, To: to, Minutes: minutes, WarnShare: s.opts.WarnShare,
			EscalateEveryMinutes: int(s.opts.EscalateEvery / time.Minute)}
	}
	out := []Target{t("created", EventReported, EventCreated, 10)}
	switch workType {
	case "complaint":
		out = append(out, t("contacted", EventCreated, EventContacted, 120), t("feedback", EventCreated, EventFeedback, 24*60))
	case "inquiry":
		out = append(out, t("contacted", EventCreated, EventContacted, 120))
	default:
		onSite := map[string]int{"emergency": 30, "urgent": 60}[priority]
		if onSite == 0 {
			onSite = 120
		}
		out = append(out, t("on_site", EventCreated, EventOnSite, onSite))
	}
	resolved := map[string]int{"emergency": 4 * 60, "urgent": 24 * 60}[priority]
	if resolved == 0 {
		resolved = 72 * 60
	}
	return append(out, t("resolved", EventCreated, EventResolved, resolved))
}

// policy returns the project's policy for the pair or the defaults.
func (s *Service) policy(ctx context.Context, projectID uuid.UUID, workType, priority string) (*Policy, error) {
	p, err := s.store.GetPolicy(ctx, projectID, workType, priority)
	if err != nil || p != nil {
		return p, err
	}
	return &Policy{ProjectID: projectID, WorkType: workType, Priority: priority, Targets: s.DefaultTargets(workType, priority), Default: true}, nil
}

// requireProject checks the caller holds one of roles in the project (any role when none).
func (s *Service) requireProject(ctx context.Context, projectID uuid.UUID, roles ...authz.Role) (*ProjectInfo, error) {
	if _, err := authz.Require(ctx, "project", projectID, roles...); err != nil {
		return nil, err
	}
	return s.store.Project(ctx, projectID)
}

// Policies lists the project's own policies (any member).
func (s *Service) Policies(ctx context.Context, projectID uuid.UUID) ([]Policy, error) {
	if _, err := s.requireProject(ctx, projectID); err != nil {
		return nil, err
	}
	return s.store.ListPolicies(ctx, projectID)
}

// Policy returns the project's policy for a work type and priority, or the defaults
// (version 0) when it has set none (any member).
func (s *Service) Policy(ctx context.Context, projectID uuid.UUID, workType, priority string) (*Policy, error) {
	info, err := s.requireProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if err := s.checkPair(ctx, info, workType, priority); err != nil {
		return nil, err
	}
	return s.policy(ctx, projectID, workType, priority)
}

// checkPair refuses an unknown work type or priority as an absent policy.
func (s *Service) checkPair(ctx context.Context, info *ProjectInfo, workType, priority string) error {
	if !slices.Contains(Priorities, priority) {
		return apperr.NotFound("sla policy")
	}
	ok, err := s.store.WorkTypeExists(ctx, info.OrganizationID, workType)
	if err != nil {
		return err
	}
	if !ok {
		return apperr.NotFound("sla policy")
	}
	return nil
}

// PutPolicy replaces the policy of a work type and priority (project admins and
// supervisors); version 0 creates it. Running clocks keep the targets they started with.
func (s *Service) PutPolicy(ctx context.Context, projectID uuid.UUID, workType, priority string, in PolicyInput) (*Policy, error) {
	targets, err := s.checkPolicy(in)
	if err != nil {
		return nil, err
	}
	var out *Policy
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		info, err := s.requireProject(ctx, projectID, managers...)
		if err != nil {
			return err
		}
		if err := s.checkPair(ctx, info, workType, priority); err != nil {
			return err
		}
		next := &Policy{ProjectID: projectID, WorkType: workType, Priority: priority, Targets: targets, Version: in.Version}
		if in.Version == 0 {
			out, err = s.store.InsertPolicy(ctx, next)
		} else {
			out, err = s.store.UpdatePolicy(ctx, next)
		}
		if errors.Is(err, ErrStale) {
			cur, cerr := s.policy(ctx, projectID, workType, priority)
			if cerr != nil {
				return cerr
			}
			return apperr.VersionConflict(cur)
		}
		return err
	})
	return out, err
}

// DeletePolicy removes the project's policy of the pair, so the defaults apply again.
func (s *Service) DeletePolicy(ctx context.Context, projectID uuid.UUID, workType, priority string, version int) error {
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		info, err := s.requireProject(ctx, projectID, managers...)
		if err != nil {
			return err
		}
		if err := s.checkPair(ctx, info, workType, priority); err != nil {
			return err
		}
		err = s.store.DeletePolicy(ctx, projectID, workType, priority, version)
		if errors.Is(err, ErrStale) {
			cur, cerr := s.policy(ctx, projectID, workType, priority)
			if cerr != nil {
				return cerr
			}
			if cur.Default {
				return apperr.NotFound("sla policy")
			}
			return apperr.VersionConflict(cur)
		}
		return err
	})
}

// checker collects every field error of one input.
type checker struct{ apperr.Fields }

func (s *Service) checkPolicy(in PolicyInput) ([]Target, error) {
	var c checker
	if in.Version < 0 {
		c.Add("version", "min", "must be 0 (no policy yet) or the version the change is based on")
	}
	switch {
	case len(in.Targets) == 0:
		c.Add("targets", "required", "must list at least one target")
	case len(in.Targets) > maxTargets:
		c.Add("targets", "max", fmt.Sprintf("must list at most %d targets", maxTargets))
	}
	seen := map[string]bool{}
	out := make([]Target, 0, len(in.Targets))
	for i, t := range in.Targets {
		f := func(name string) string { return "targets[" + strconv.Itoa(i) + "]." + name }
		if !codePattern.MatchString(t.Code) {
			c.Add(f("code"), "pattern", "must be lower-case letters, digits and _ (up to 40), starting with a letter")
		} else if seen[t.Code] {
			c.Add(f("code"), "unique", "is used by another target of the policy")
		}
		seen[t.Code] = true
		if !slices.Contains(TargetEvents, t.From) || t.From == EventClosed {
			c.Add(f("from"), "oneof", "must be one of "+strings.Join(TargetEvents[:len(TargetEvents)-1], ", "))
		}
		if !slices.Contains(TargetEvents, t.To) || t.To == EventReported {
			c.Add(f("to"), "oneof", "must be one of "+strings.Join(TargetEvents[1:], ", "))
		} else if t.To == t.From {
			c.Add(f("to"), "distinct", "must differ from from")
		}
		if t.Minutes < 1 || t.Minutes > maxMinutes {
			c.Add(f("minutes"), "range", fmt.Sprintf("must be from 1 to %d minutes", maxMinutes))
		}
		target := Target{Code: t.Code, From: t.From, To: t.To, Minutes: t.Minutes, BusinessHours: t.BusinessHours,
			WarnShare: s.opts.WarnShare, EscalateEveryMinutes: int(s.opts.EscalateEvery / time.Minute)}
		if t.WarnShare != nil {
			if *t.WarnShare <= 0 || *t.WarnShare >= 1 {
				c.Add(f("warn_share"), "range", "must be a share between 0 and 1 (exclusive)")
			}
			target.WarnShare = *t.WarnShare
		}
		if t.EscalateEveryMinutes != nil {
			if *t.EscalateEveryMinutes < 1 || *t.EscalateEveryMinutes > maxEscalateEvery {
				c.Add(f("escalate_every_minutes"), "range", fmt.Sprintf("must be from 1 to %d minutes", maxEscalateEvery))
			}
			target.EscalateEveryMinutes = *t.EscalateEveryMinutes
		}
		out = append(out, target)
	}
	return out, c.Err()
}

// weekKeys name the days of a calendar's week, indexed by time.Weekday.
var weekKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// defaultWeek is the business hours of a project without a calendar: every day 09:00–18:00.
func defaultWeek() map[string][][]string {
	w := make(map[string][][]string, 7)
	for _, k := range weekKeys {
		w[k] = [][]string{{"09:00", "18:00"}}
	}
	return w
}

// calendarDoc returns the project's calendar or the defaults.
func (s *Service) calendarDoc(ctx context.Context, projectID uuid.UUID, info *ProjectInfo) (*CalendarDoc, error) {
	doc, err := s.store.GetCalendar(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		doc = &CalendarDoc{ProjectID: projectID, Week: defaultWeek(), Holidays: []string{}, Workdays: map[string]string{}, Default: true}
	}
	doc.Timezone = info.Timezone
	for _, k := range weekKeys {
		if doc.Week[k] == nil {
			doc.Week[k] = [][]string{}
		}
	}
	return doc, nil
}

// Calendar returns the project's business hours, or the defaults (version 0) when it
// has set none (any member).
func (s *Service) Calendar(ctx context.Context, projectID uuid.UUID) (*CalendarDoc, error) {
	info, err := s.requireProject(ctx, projectID)
	if err != nil {
		return nil, err
	}
	return s.calendarDoc(ctx, projectID, info)
}

// PutCalendar replaces the project's business hours (project admins and supervisors);
// version 0 creates them. Running clocks keep their deadlines until they are
// rescheduled (a pause, a resume, a reopen).
func (s *Service) PutCalendar(ctx context.Context, projectID uuid.UUID, in CalendarInput) (*CalendarDoc, error) {
	doc := &CalendarDoc{ProjectID: projectID, Week: in.Week, Holidays: in.Holidays, Workdays: in.Workdays, Version: in.Version}
	if doc.Holidays == nil {
		doc.Holidays = []string{}
	}
	if doc.Workdays == nil {
		doc.Workdays = map[string]string{}
	}
	if err := checkCalendar(in); err != nil {
		return nil, err
	}
	doc.Holidays = sortedUnique(doc.Holidays)
	var out *CalendarDoc
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		info, err := s.requireProject(ctx, projectID, managers...)
		if err != nil {
			return err
		}
		if in.Version == 0 {
			out, err = s.store.InsertCalendar(ctx, doc)
		} else {
			out, err = s.store.UpdateCalendar(ctx, doc)
		}
		if errors.Is(err, ErrStale) {
			cur, cerr := s.calendarDoc(ctx, projectID, info)
			if cerr != nil {
				return cerr
			}
			return apperr.VersionConflict(cur)
		}
		if err != nil {
			return err
		}
		out, err = s.calendarDoc(ctx, projectID, info)
		return err
	})
	return out, err
}

func sortedUnique(days []string) []string {
	out := slices.Clone(days)
	sort.Strings(out)
	return slices.Compact(out)
}

const maxHolidays = 1000

func checkCalendar(in CalendarInput) error {
	var c checker
	if in.Version < 0 {
		c.Add("version", "min", "must be 0 (no calendar yet) or the version the change is based on")
	}
	open := false
	for key := range in.Week {
		if !slices.Contains(weekKeys[:], key) {
			c.Add("week."+key, "oneof", "days are mon, tue, wed, thu, fri, sat, sun")
		}
	}
	for _, key := range weekKeys {
		if _, err := windowsOf(in.Week[key]); err != nil {
			c.Add("week."+key, "windows", err.Error())
		}
		if len(in.Week[key]) > 0 {
			open = true
		}
	}
	if !open {
		c.Add("week", "open", "must open on at least one day")
	}
	if len(in.Holidays) > maxHolidays {
		c.Add("holidays", "max", fmt.Sprintf("must list at most %d days", maxHolidays))
	}
	for i, d := range in.Holidays {
		if _, err := ParseDate(d); err != nil || len(d) != 10 {
			c.Add("holidays["+strconv.Itoa(i)+"]", "date", "must be a YYYY-MM-DD date")
		}
	}
	if len(in.Workdays) > maxHolidays {
		c.Add("workdays", "max", fmt.Sprintf("must list at most %d days", maxHolidays))
	}
	for d, key := range in.Workdays {
		if _, err := ParseDate(d); err != nil || len(d) != 10 {
			c.Add("workdays."+d, "date", "keys must be YYYY-MM-DD dates")
		} else if !slices.Contains(weekKeys[:], key) || len(in.Week[key]) == 0 {
			c.Add("workdays."+d, "weekday", "must name a day of the week (mon … sun) that has opening hours")
		}
	}
	sort.Slice(c.List, func(i, j int) bool { return c.List[i].Field < c.List[j].Field })
	return c.Err()
}

// windowsOf reads [["09:00","12:00"], ["13:00","18:00"]] into windows in order.
func windowsOf(raw [][]string) ([]Window, error) {
	out := make([]Window, 0, len(raw))
	for _, pair := range raw {
		if len(pair) != 2 {
			return nil, errors.New(`each window must be ["HH:MM", "HH:MM"]`)
		}
		from, ok1 := minuteOf(pair[0])
		to, ok2 := minuteOf(pair[1])
		if !ok1 || !ok2 {
			return nil, errors.New(`times must be HH:MM, from 00:00 to 24:00`)
		}
		if from >= to || (len(out) > 0 && from < out[len(out)-1].To) {
			return nil, errors.New("windows must end after they start, be in order and not overlap")
		}
		out = append(out, Window{From: from, To: to})
	}
	return out, nil
}

func minuteOf(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[:2])
	m, err2 := strconv.Atoi(s[3:])
	if err1 != nil || err2 != nil || h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, false
	}
	return h*60 + m, true
}

// calendarOf builds the Calendar of a document in the project's time zone (UTC when
// the zone is unknown to this machine).
func calendarOf(doc *CalendarDoc) *Calendar {
	loc, err := time.LoadLocation(doc.Timezone)
	if err != nil {
		loc = time.UTC
	}
	c := &Calendar{Location: loc, Holidays: map[Date]bool{}, Workdays: map[Date]time.Weekday{}}
	for wd, key := range weekKeys {
		c.Week[wd], _ = windowsOf(doc.Week[key])
	}
	for _, h := range doc.Holidays {
		if d, err := ParseDate(h); err == nil {
			c.Holidays[d] = true
		}
	}
	for day, key := range doc.Workdays {
		if d, err := ParseDate(day); err == nil {
			if wd := slices.Index(weekKeys[:], key); wd >= 0 {
				c.Workdays[d] = time.Weekday(wd)
			}
		}
	}
	return c
}
