package defect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/notify"
)

// Who may do what; project admins may do everything supervisors may. Guards see
// nothing of handover work.
var (
	// readers see a project's defects, their history and comments, and comment.
	readers = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador, authz.RoleEngineer}
	// reporters record defects.
	reporters = readers
	// editors change any defect's description, place or classification; its
	// reporter may change their own.
	editors = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador}
	// managers set the project's rules, reassign, cancel and export.
	managers = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor}
)

// Service is the defect workflow.
type Service struct {
	store    Store
	tx       Tx
	notifier notify.Notifier
	now      Clock
}

// NewService returns the service over store; tx opens its transactions, notifier
// tells owners about their work (in the same transaction), now is the clock (nil:
// the system's).
func NewService(store Store, tx Tx, notifier notify.Notifier, now Clock) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{store: store, tx: tx, notifier: notifier, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC() }

// isOverdue: due and not yet dealt with (a fixed defect waits on the verifier, not the owner).
func isOverdue(d *Defect, now time.Time) bool {
	if d.DueAt == nil || !d.DueAt.Before(now) {
		return false
	}
	switch d.Status {
	case StatusOpen, StatusAssigned, StatusInProgress, StatusReopened:
		return true
	}
	return false
}

// load reads a defect the caller may see: a reader of its project, and for a draft
// its reporter (others are told it does not exist).
func (s *Service) load(ctx context.Context, id uuid.UUID, lock Lock) (*Defect, *authz.Principal, error) {
	d, err := s.store.GetDefect(ctx, id, lock)
	if err != nil {
		return nil, nil, err
	}
	p, err := authz.Require(ctx, "defect", d.ProjectID, readers...)
	if err != nil {
		return nil, nil, err
	}
	if d.Draft && d.ReportedBy != p.UserID {
		return nil, nil, apperr.NotFound("defect")
	}
	d.Overdue = isOverdue(d, s.clock())
	return d, p, nil
}

// stale turns ErrStale from a conditional write into a version conflict carrying the
// defect as it now is.
func (s *Service) stale(ctx context.Context, id uuid.UUID, err error) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	cur, err := s.store.GetDefect(ctx, id, NoLock)
	if err != nil {
		return err
	}
	cur.Overdue = isOverdue(cur, s.clock())
	return apperr.VersionConflict(cur)
}

// Categories lists the defect categories of the caller's organization: the built-in
// ones and its own.
func (s *Service) Categories(ctx context.Context) ([]Category, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.store.Categories(ctx, p.OrganizationID)
}

// PutCategory adds a category of the caller's organization, or changes it; one with a
// built-in category's code replaces that one for the organization (its own labels, or
// whether it counts as a leak). Organization admins only.
func (s *Service) PutCategory(ctx context.Context, in Category) (*Category, error) {
	p, err := authz.RequireOrgAdmin(ctx)
	if err != nil {
		return nil, err
	}
	var c checker
	c.ReferenceEntry(in.Code, in.LabelEN, in.LabelZH, in.Position)
	if err := c.Err(); err != nil {
		return nil, err
	}
	in.LabelEN, in.LabelZH = strings.TrimSpace(in.LabelEN), strings.TrimSpace(in.LabelZH)
	if err := s.store.PutCategory(ctx, p.OrganizationID, in); err != nil {
		return nil, err
	}
	return &in, nil
}

// Severities lists the severities, least severe first.
func (s *Service) Severities(ctx context.Context) ([]Severity, error) {
	if _, err := authz.Caller(ctx); err != nil {
		return nil, err
	}
	return s.store.Severities(ctx)
}

// requireProject checks the caller holds one of roles in the project and returns it.
func (s *Service) requireProject(ctx context.Context, projectID uuid.UUID, roles ...authz.Role) (*ProjectInfo, *authz.Principal, error) {
	p, err := authz.Require(ctx, "project", projectID, roles...)
	if err != nil {
		return nil, nil, err
	}
	info, err := s.store.Project(ctx, projectID)
	if err != nil {
		return nil, nil, err
	}
	return info, p, nil
}

// defaultRules are a project's rules before it sets its own.
func defaultRules(projectID uuid.UUID) *Rules {
	return &Rules{ProjectID: projectID, DueHours: map[string]int{}, DueBeforeHandover: true}
}

// rules returns the project's rules or the defaults.
func (s *Service) rules(ctx context.Context, projectID uuid.UUID) (*Rules, error) {
	r, err := s.store.GetRules(ctx, projectID)
	if err != nil || r != nil {
		return r, err
	}
	return defaultRules(projectID), nil
}

// Rules returns a project's due-date rules (version 0: the defaults, never saved).
func (s *Service) Rules(ctx context.Context, projectID uuid.UUID) (*Rules, error) {
	if _, _, err := s.requireProject(ctx, projectID, readers...); err != nil {
		return nil, err
	}
	return s.rules(ctx, projectID)
}

// PutRules replaces a project's due-date rules (project admins and supervisors); the
// first write is based on version 0.
func (s *Service) PutRules(ctx context.Context, projectID uuid.UUID, in RulesInput) (*Rules, error) {
	if in.Version < 0 {
		return nil, invalid("version", "min", "must be 0 (no rules yet) or the version the change is based on")
	}
	var out *Rules
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, _, err := s.requireProject(ctx, projectID, managers...); err != nil {
			return err
		}
		if err := s.checkDueHours(ctx, in.DueHours); err != nil {
			return err
		}
		next := &Rules{ProjectID: projectID, DueHours: in.DueHours, DueBeforeHandover: in.DueBeforeHandover, Version: in.Version}
		if next.DueHours == nil {
			next.DueHours = map[string]int{}
		}
		var err error
		if in.Version == 0 {
			out, err = s.store.InsertRules(ctx, next)
		} else {
			out, err = s.store.UpdateRules(ctx, next)
		}
		if errors.Is(err, ErrStale) {
			cur, cerr := s.rules(ctx, projectID)
			if cerr != nil {
				return cerr
			}
			return apperr.VersionConflict(cur)
		}
		return err
	})
	return out, err
}

func (s *Service) checkDueHours(ctx context.Context, hours map[string]int) error {
	sevs, err := s.store.Severities(ctx)
	if err != nil {
		return err
	}
	var c checker
	codes := make([]string, 0, len(hours))
	for code := range hours {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	for _, code := range codes {
		if !slices.ContainsFunc(sevs, func(s Severity) bool { return s.Code == code }) {
			c.Add("due_hours."+code, "severity", "is not a defect severity")
			continue
		}
		if h := hours[code]; h < 1 || h > maxDueHours {
			c.Add("due_hours."+code, "range", "must be from 1 to 8760 hours")
		}
	}
	return c.Err()
}

// dueAt is when a defect assigned now is due: the project's hours for its severity
// (else the severity's default) from now, but no later than the start of the unit's
// handover day in the project's time zone when the rules say so and that day is
// still ahead.
func (s *Service) dueAt(ctx context.Context, d *Defect, now time.Time) (time.Time, error) {
	r, err := s.rules(ctx, d.ProjectID)
	if err != nil {
		return time.Time{}, err
	}
	hours, ok := r.DueHours[d.Severity]
	if !ok {
		sev, err := s.store.GetSeverity(ctx, d.Severity)
		if err != nil {
			return time.Time{}, err
		}
		hours = sev.DefaultDueHours
	}
	due := now.Add(time.Duration(hours) * time.Hour)
	if !r.DueBeforeHandover || d.UnitID == nil {
		return due, nil
	}
	place, err := s.store.UnitPlace(ctx, *d.UnitID)
	if err != nil || place.HandoverDate == nil {
		return due, err
	}
	info, err := s.store.Project(ctx, d.ProjectID)
	if err != nil {
		return time.Time{}, err
	}
	loc, err := time.LoadLocation(info.Timezone)
	if err != nil {
		loc = time.UTC
	}
	day, err := time.ParseInLocation(dateLayout, *place.HandoverDate, loc)
	if err != nil {
		return due, nil //nolint:nilerr // a date the unit service let through unparsed limits nothing
	}
	if day.After(now) && day.Before(due) {
		return day.UTC(), nil
	}
	return due, nil
}
