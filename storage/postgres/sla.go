package postgres

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/sla"
)

// SLAStore is the repository of SLA policies, project calendars, clocks and their
// events. Its clock paths are plain SQL: they run inside every work order command and
// every alarm job.
type SLAStore struct{ db *DB }

// NewSLAStore returns the SLA repository over db.
func NewSLAStore(db *DB) *SLAStore { return &SLAStore{db: db} }

var _ sla.Store = (*SLAStore)(nil)

// Project implements sla.Store.
func (s *SLAStore) Project(ctx context.Context, id uuid.UUID) (*sla.ProjectInfo, error) {
	var p sla.ProjectInfo
	err := s.db.queryRow(ctx, `SELECT organization_id, timezone FROM projects WHERE id = $1 AND deleted_at IS NULL`, pgUUID(id)).
		Scan(&p.OrganizationID, &p.Timezone)
	if IsNoRows(err) {
		return nil, apperr.NotFound("project")
	}
	return &p, Translate(err)
}

// WorkTypeExists implements sla.Store.
func (s *SLAStore) WorkTypeExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error) {
	var ok bool
	err := s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM work_types WHERE code = $2
		AND (organization_id IS NULL OR organization_id = $1))`, pgUUID(organizationID), code).Scan(&ok)
	return ok, Translate(err)
}

const slaPolicyColumns = `project_id, work_type, priority, targets::text, version, updated_at`

func scanSLAPolicy(row interface{ Scan(...any) error }) (*sla.Policy, error) {
	var p sla.Policy
	var targets string
	var updated time.Time
	if err := row.Scan(&p.ProjectID, &p.WorkType, &p.Priority, &targets, &p.Version, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(targets), &p.Targets); err != nil {
		return nil, apperr.Internal("sla_policies.targets: %w", err)
	}
	updated = updated.UTC()
	p.UpdatedAt = &updated
	return &p, nil
}

// ListPolicies implements sla.Store.
func (s *SLAStore) ListPolicies(ctx context.Context, projectID uuid.UUID) ([]sla.Policy, error) {
	rows, err := s.db.query(ctx, `SELECT `+slaPolicyColumns+` FROM sla_policies WHERE project_id = $1 AND deleted_at IS NULL
		ORDER BY work_type, array_position(ARRAY['emergency', 'urgent', 'normal'], priority)`, pgUUID(projectID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []sla.Policy{}
	for rows.Next() {
		p, err := scanSLAPolicy(rows)
		if err != nil {
			return nil, Translate(err)
		}
		out = append(out, *p)
	}
	return out, Translate(rows.Err())
}

// GetPolicy implements sla.Store.
func (s *SLAStore) GetPolicy(ctx context.Context, projectID uuid.UUID, workType, priority string) (*sla.Policy, error) {
	p, err := scanSLAPolicy(s.db.queryRow(ctx, `SELECT `+slaPolicyColumns+` FROM sla_policies
		WHERE project_id = $1 AND work_type = $2 AND priority = $3 AND deleted_at IS NULL`, pgUUID(projectID), workType, priority))
	if IsNoRows(err) {
		return nil, nil
	}
	return p, Translate(err)
}

// InsertPolicy implements sla.Store.
func (s *SLAStore) InsertPolicy(ctx context.Context, p *sla.Policy) (*sla.Policy, error) {
	targets, err := json.Marshal(p.Targets)
	if err != nil {
		return nil, apperr.Internal("targets: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, apperr.Internal("policy id: %w", err)
	}
	out, err := scanSLAPolicy(s.db.queryRow(ctx, `INSERT INTO sla_policies (id, project_id, work_type, priority, targets)
		VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (project_id, work_type, priority) WHERE deleted_at IS NULL DO NOTHING
		RETURNING `+slaPolicyColumns, pgUUID(id), pgUUID(p.ProjectID), p.WorkType, p.Priority, string(targets)))
	if IsNoRows(err) {
		return nil, sla.ErrStale
	}
	return out, Translate(err)
}

// UpdatePolicy implements sla.Store.
func (s *SLAStore) UpdatePolicy(ctx context.Context, p *sla.Policy) (*sla.Policy, error) {
	targets, err := json.Marshal(p.Targets)
	if err != nil {
		return nil, apperr.Internal("targets: %w", err)
	}
	out, err := scanSLAPolicy(s.db.queryRow(ctx, `UPDATE sla_policies SET targets = $5::jsonb, version = version + 1
		WHERE project_id = $1 AND work_type = $2 AND priority = $3 AND version = $4 AND deleted_at IS NULL
		RETURNING `+slaPolicyColumns, pgUUID(p.ProjectID), p.WorkType, p.Priority, p.Version, string(targets)))
	if IsNoRows(err) {
		return nil, sla.ErrStale
	}
	return out, Translate(err)
}

// DeletePolicy implements sla.Store.
func (s *SLAStore) DeletePolicy(ctx context.Context, projectID uuid.UUID, workType, priority string, version int) error {
	n, err := s.db.exec(ctx, `UPDATE sla_policies SET deleted_at = now(), version = version + 1
		WHERE project_id = $1 AND work_type = $2 AND priority = $3 AND version = $4 AND deleted_at IS NULL`,
		pgUUID(projectID), workType, priority, version)
	if err != nil {
		return err
	}
	if n == 0 {
		return sla.ErrStale
	}
	return nil
}

const slaCalendarColumns = `project_id, week::text, array_to_json(holidays)::text, workdays::text, version, updated_at`

func scanSLACalendar(row interface{ Scan(...any) error }) (*sla.CalendarDoc, error) {
	var c sla.CalendarDoc
	var week, holidays, workdays string
	var updated time.Time
	if err := row.Scan(&c.ProjectID, &week, &holidays, &workdays, &c.Version, &updated); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		raw string
		dst any
	}{{week, &c.Week}, {holidays, &c.Holidays}, {workdays, &c.Workdays}} {
		if err := json.Unmarshal([]byte(f.raw), f.dst); err != nil {
			return nil, apperr.Internal("project_calendars: %w", err)
		}
	}
	if c.Holidays == nil {
		c.Holidays = []string{}
	}
	if c.Workdays == nil {
		c.Workdays = map[string]string{}
	}
	updated = updated.UTC()
	c.UpdatedAt = &updated
	return &c, nil
}

// GetCalendar implements sla.Store.
func (s *SLAStore) GetCalendar(ctx context.Context, projectID uuid.UUID) (*sla.CalendarDoc, error) {
	c, err := scanSLACalendar(s.db.queryRow(ctx, `SELECT `+slaCalendarColumns+` FROM project_calendars WHERE project_id = $1`, pgUUID(projectID)))
	if IsNoRows(err) {
		return nil, nil
	}
	return c, Translate(err)
}

func calendarArgs(c *sla.CalendarDoc) (week, holidays, workdays string, err error) {
	w, err := json.Marshal(c.Week)
	if err != nil {
		return "", "", "", apperr.Internal("week: %w", err)
	}
	wd, err := json.Marshal(c.Workdays)
	if err != nil {
		return "", "", "", apperr.Internal("workdays: %w", err)
	}
	return string(w), "{" + strings.Join(c.Holidays, ",") + "}", string(wd), nil
}

// InsertCalendar implements sla.Store.
func (s *SLAStore) InsertCalendar(ctx context.Context, c *sla.CalendarDoc) (*sla.CalendarDoc, error) {
	week, holidays, workdays, err := calendarArgs(c)
	if err != nil {
		return nil, err
	}
	out, err := scanSLACalendar(s.db.queryRow(ctx, `INSERT INTO project_calendars (project_id, week, holidays, workdays)
		VALUES ($1, $2::jsonb, $3::date[], $4::jsonb) ON CONFLICT (project_id) DO NOTHING RETURNING `+slaCalendarColumns,
		pgUUID(c.ProjectID), week, holidays, workdays))
	if IsNoRows(err) {
		return nil, sla.ErrStale
	}
	return out, Translate(err)
}

// UpdateCalendar implements sla.Store.
func (s *SLAStore) UpdateCalendar(ctx context.Context, c *sla.CalendarDoc) (*sla.CalendarDoc, error) {
	week, holidays, workdays, err := calendarArgs(c)
	if err != nil {
		return nil, err
	}
	out, err := scanSLACalendar(s.db.queryRow(ctx, `UPDATE project_calendars SET week = $3::jsonb, holidays = $4::date[],
		workdays = $5::jsonb, version = version + 1 WHERE project_id = $1 AND version = $2 RETURNING `+slaCalendarColumns,
		pgUUID(c.ProjectID), c.Version, week, holidays, workdays))
	if IsNoRows(err) {
		return nil, sla.ErrStale
	}
	return out, Translate(err)
}

// WorkOrder implements sla.Store.
func (s *SLAStore) WorkOrder(ctx context.Context, id uuid.UUID) (*sla.WorkOrderRef, error) {
	var w sla.WorkOrderRef
	err := s.db.queryRow(ctx, `SELECT w.id, w.project_id, w.title, w.status, w.owner_id, w.deleted_at IS NOT NULL, p.timezone
		FROM work_orders w JOIN projects p ON p.id = w.project_id WHERE w.id = $1`, pgUUID(id)).
		Scan(&w.ID, &w.ProjectID, &w.Title, &w.Status, &w.OwnerID, &w.Deleted, &w.Timezone)
	if IsNoRows(err) {
		return nil, apperr.NotFound("work order")
	}
	return &w, Translate(err)
}

const slaClockColumns = `id, work_order_id, project_id, target, from_event, to_event, allowance_seconds, business_hours,
	warn_share, escalate_every_seconds, used_seconds, running_since, deadline, warn_at, state, generation,
	warned_at, breached_at, met_at, escalation_level`

func scanSLAClock(row interface{ Scan(...any) error }) (*sla.TargetClock, error) {
	var c sla.TargetClock
	var allowance int64
	var escalate *int64
	var used float64
	var share float32
	if err := row.Scan(&c.ID, &c.WorkOrderID, &c.ProjectID, &c.Target, &c.From, &c.To, &allowance, &c.BusinessHours,
		&share, &escalate, &used, &c.RunningSince, &c.Deadline, &c.WarnAt, &c.State, &c.Generation,
		&c.WarnedAt, &c.BreachedAt, &c.MetAt, &c.Level); err != nil {
		return nil, err
	}
	c.Allowance = time.Duration(allowance) * time.Second
	if escalate != nil {
		c.EscalateEvery = time.Duration(*escalate) * time.Second
	}
	c.Used = time.Duration(used * float64(time.Second))
	c.WarnShare = float64(share)
	for _, t := range []**time.Time{&c.RunningSince, &c.Deadline, &c.WarnAt, &c.WarnedAt, &c.BreachedAt, &c.MetAt} {
		if *t != nil {
			u := (*t).UTC()
			*t = &u
		}
	}
	return &c, nil
}

func (s *SLAStore) clocks(ctx context.Context, q string, args ...any) ([]sla.TargetClock, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []sla.TargetClock{}
	for rows.Next() {
		c, err := scanSLAClock(rows)
		if err != nil {
			return nil, Translate(err)
		}
		out = append(out, *c)
	}
	return out, Translate(rows.Err())
}

// LockClocks implements sla.Store.
func (s *SLAStore) LockClocks(ctx context.Context, workOrderID uuid.UUID) ([]sla.TargetClock, error) {
	return s.clocks(ctx, `SELECT `+slaClockColumns+` FROM sla_clocks WHERE work_order_id = $1 ORDER BY id FOR UPDATE`, pgUUID(workOrderID))
}

// Clocks implements sla.Store.
func (s *SLAStore) Clocks(ctx context.Context, workOrderID uuid.UUID) ([]sla.TargetClock, error) {
	return s.clocks(ctx, `SELECT `+slaClockColumns+` FROM sla_clocks WHERE work_order_id = $1 ORDER BY id`, pgUUID(workOrderID))
}

// slaClockColumnsC are slaClockColumns prefixed with "c." for joins.
var slaClockColumnsC = "c." + strings.Join(strings.Split(strings.NewReplacer("\n", "", "\t", "").Replace(slaClockColumns), ", "), ", c.")

// LockAlarm implements sla.Store. It also makes the alarm's transaction commit
// without waiting for its WAL to reach the disk (synchronous_commit off, for this
// transaction only): a flush costs a few milliseconds here and serialized thousands of
// alarms a second behind it. Nothing is lost that matters: River marks the job done
// only after the alarm commits, with a synchronous commit that flushes the WAL in
// order, so a crash of PostgreSQL that loses the alarm loses the job's completion too
// and the job runs again (and the locked-row check keeps it firing once).
func (s *SLAStore) LockAlarm(ctx context.Context, clockID uuid.UUID) (*sla.TargetClock, *sla.WorkOrderRef, error) {
	var w sla.WorkOrderRef
	var async string
	c, err := scanSLAClock(scanPlus{s.db.queryRow(ctx, `SELECT `+slaClockColumnsC+`, w.title, w.status, w.owner_id, w.deleted_at IS NOT NULL, p.timezone,
			set_config('synchronous_commit', 'off', true)
		FROM sla_clocks c JOIN work_orders w ON w.id = c.work_order_id JOIN projects p ON p.id = c.project_id
		WHERE c.id = $1 FOR UPDATE OF c`, pgUUID(clockID)), []any{&w.Title, &w.Status, &w.OwnerID, &w.Deleted, &w.Timezone, &async}})
	if IsNoRows(err) {
		return nil, nil, apperr.NotFound("sla clock")
	}
	if err != nil {
		return nil, nil, Translate(err)
	}
	w.ID, w.ProjectID = c.WorkOrderID, c.ProjectID
	return c, &w, nil
}

// LockDueClocks implements sla.Store.
func (s *SLAStore) LockDueClocks(ctx context.Context, now time.Time, except uuid.UUID, limit int) ([]sla.DueClock, error) {
	if limit < 1 {
		return nil, nil
	}
	rows, err := s.db.query(ctx, `SELECT `+slaClockColumnsC+`, w.title, w.status, w.owner_id, w.deleted_at IS NOT NULL, p.timezone
		FROM sla_clocks c JOIN work_orders w ON w.id = c.work_order_id JOIN projects p ON p.id = c.project_id
		WHERE c.state = 'running' AND c.deadline <= $1 AND c.id <> $2
		ORDER BY c.deadline LIMIT $3 FOR UPDATE OF c SKIP LOCKED`, now, pgUUID(except), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sla.DueClock
	for rows.Next() {
		var w sla.WorkOrderRef
		c, err := scanSLAClock(scanPlus{rows, []any{&w.Title, &w.Status, &w.OwnerID, &w.Deleted, &w.Timezone}})
		if err != nil {
			return nil, Translate(err)
		}
		w.ID, w.ProjectID = c.WorkOrderID, c.ProjectID
		out = append(out, sla.DueClock{Clock: c, WorkOrder: &w})
	}
	return out, Translate(rows.Err())
}

// scanPlus scans a row of a clock's columns followed by more.
type scanPlus struct {
	row  interface{ Scan(...any) error }
	more []any
}

func (p scanPlus) Scan(dest ...any) error { return p.row.Scan(append(dest, p.more...)...) }

func seconds(d time.Duration) *int64 {
	if d <= 0 {
		return nil
	}
	v := int64(d / time.Second)
	return &v
}

var slaClockCasts = []string{"uuid", "uuid", "uuid", "text", "text", "text", "integer", "boolean", "real", "integer",
	"double precision", "timestamptz", "timestamptz", "timestamptz", "text", "integer", "timestamptz", "timestamptz", "timestamptz", "integer"}

func slaClockArgs(c *sla.TargetClock) []any {
	return []any{pgUUID(c.ID), pgUUID(c.WorkOrderID), pgUUID(c.ProjectID), c.Target, c.From, c.To, int64(c.Allowance / time.Second),
		c.BusinessHours, c.WarnShare, seconds(c.EscalateEvery), c.Used.Seconds(), c.RunningSince, c.Deadline, c.WarnAt,
		c.State, c.Generation, c.WarnedAt, c.BreachedAt, c.MetAt, c.Level}
}

// InsertClocks implements sla.Store with one multi-row INSERT.
func (s *SLAStore) InsertClocks(ctx context.Context, cs []*sla.TargetClock) error {
	if len(cs) == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO sla_clocks (` + slaClockColumns + `) VALUES `)
	args := make([]any, 0, len(cs)*len(slaClockCasts))
	for i, c := range cs {
		if i > 0 {
			sb.WriteString(", ")
		}
		placeholders(&sb, len(args), len(slaClockCasts), slaClockCasts)
		args = append(args, slaClockArgs(c)...)
	}
	_, err := s.db.exec(ctx, sb.String(), args...)
	return err
}

// UpdateClock implements sla.Store.
func (s *SLAStore) UpdateClock(ctx context.Context, c *sla.TargetClock) error {
	_, err := s.db.exec(ctx, `UPDATE sla_clocks SET used_seconds = $2, running_since = $3, deadline = $4, warn_at = $5,
		state = $6, generation = $7, warned_at = $8, breached_at = $9, met_at = $10, escalation_level = $11 WHERE id = $1`,
		pgUUID(c.ID), c.Used.Seconds(), c.RunningSince, c.Deadline, c.WarnAt, c.State, c.Generation,
		c.WarnedAt, c.BreachedAt, c.MetAt, c.Level)
	return err
}

// UpdateClockWithEvent implements sla.Store.
func (s *SLAStore) UpdateClockWithEvent(ctx context.Context, c *sla.TargetClock, e sla.ClockEvent) error {
	data, err := json.Marshal(e.Data)
	if err != nil || e.Data == nil {
		data = []byte("{}")
	}
	_, err = s.db.exec(ctx, `WITH u AS (UPDATE sla_clocks SET used_seconds = $2, running_since = $3, deadline = $4, warn_at = $5,
		state = $6, generation = $7, warned_at = $8, breached_at = $9, met_at = $10, escalation_level = $11 WHERE id = $1 RETURNING id)
		INSERT INTO sla_events (clock_id, work_order_id, project_id, target, kind, due, at, level, data)
		SELECT u.id, $12, $13, $14, $15, $16, $17, $18, $19::jsonb FROM u`,
		pgUUID(c.ID), c.Used.Seconds(), c.RunningSince, c.Deadline, c.WarnAt, c.State, c.Generation,
		c.WarnedAt, c.BreachedAt, c.MetAt, c.Level,
		pgUUID(e.WorkOrderID), pgUUID(e.ProjectID), e.Target, e.Kind, e.Due, e.At, e.Level, string(data))
	return err
}

var slaEventCasts = []string{"uuid", "uuid", "uuid", "text", "text", "timestamptz", "timestamptz", "integer", "jsonb"}

// InsertEvents implements sla.Store with one multi-row INSERT.
func (s *SLAStore) InsertEvents(ctx context.Context, es []sla.ClockEvent) error {
	if len(es) == 0 {
		return nil
	}
	var sb strings.Builder
	sb.WriteString(`INSERT INTO sla_events (clock_id, work_order_id, project_id, target, kind, due, at, level, data) VALUES `)
	args := make([]any, 0, len(es)*len(slaEventCasts))
	for i, e := range es {
		if i > 0 {
			sb.WriteString(", ")
		}
		data, err := json.Marshal(e.Data)
		if err != nil {
			return apperr.Internal("sla event data: %w", err)
		}
		if e.Data == nil {
			data = []byte("{}")
		}
		placeholders(&sb, len(args), len(slaEventCasts), slaEventCasts)
		args = append(args, pgUUID(e.ClockID), pgUUID(e.WorkOrderID), pgUUID(e.ProjectID), e.Target, e.Kind, e.Due, e.At, e.Level, string(data))
	}
	_, err := s.db.exec(ctx, sb.String(), args...)
	return err
}

// Events implements sla.Store.
func (s *SLAStore) Events(ctx context.Context, workOrderID uuid.UUID) ([]sla.ClockEvent, error) {
	rows, err := s.db.query(ctx, `SELECT id, clock_id, target, kind, due, at, level, data::text FROM sla_events
		WHERE work_order_id = $1 ORDER BY id`, pgUUID(workOrderID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []sla.ClockEvent{}
	for rows.Next() {
		var e sla.ClockEvent
		var data string
		if err := rows.Scan(&e.ID, &e.ClockID, &e.Target, &e.Kind, &e.Due, &e.At, &e.Level, &data); err != nil {
			return nil, Translate(err)
		}
		if err := json.Unmarshal([]byte(data), &e.Data); err != nil {
			return nil, apperr.Internal("sla_events.data: %w", err)
		}
		e.WorkOrderID, e.At = workOrderID, e.At.UTC()
		if e.Due != nil {
			d := e.Due.UTC()
			e.Due = &d
		}
		out = append(out, e)
	}
	return out, Translate(rows.Err())
}

// Members implements sla.Store.
func (s *SLAStore) Members(ctx context.Context, projectID uuid.UUID, role string) ([]uuid.UUID, error) {
	return s.ids(ctx, `SELECT m.user_id FROM project_members m JOIN users u ON u.id = m.user_id
		WHERE m.project_id = $1 AND m.role = $2 AND u.deleted_at IS NULL AND u.disabled_at IS NULL ORDER BY m.user_id`, pgUUID(projectID), role)
}

// OrgAdmins implements sla.Store.
func (s *SLAStore) OrgAdmins(ctx context.Context, organizationID uuid.UUID) ([]uuid.UUID, error) {
	return s.ids(ctx, `SELECT id FROM users WHERE organization_id = $1 AND org_admin AND deleted_at IS NULL AND disabled_at IS NULL
		ORDER BY id`, pgUUID(organizationID))
}

func (s *SLAStore) ids(ctx context.Context, q string, args ...any) ([]uuid.UUID, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []uuid.UUID
	for rows.Next() {
		var id uuid.UUID
		if err := rows.Scan(&id); err != nil {
			return nil, Translate(err)
		}
		out = append(out, id)
	}
	return out, Translate(rows.Err())
}
