package sla

import (
	"time"

	"github.com/google/uuid"
)

// Target is one measured span of a policy: from one work order event to another, on
// the 24-hour clock or on the project's business hours.
type Target struct {
	Code          string  `json:"code"`
	From          string  `json:"from"`
	To            string  `json:"to"`
	Minutes       int     `json:"minutes"`
	BusinessHours bool    `json:"business_hours"`
	WarnShare     float64 `json:"warn_share"`
	// EscalateEveryMinutes is the step of the escalation chain after a breach.
	EscalateEveryMinutes int `json:"escalate_every_minutes"`
}

// Policy is a project's targets for one work type and priority. Version 0 marks the
// defaults of a project that has set none of its own (never stored).
type Policy struct {
	ProjectID uuid.UUID  `json:"project_id"`
	WorkType  string     `json:"work_type"`
	Priority  string     `json:"priority"`
	Targets   []Target   `json:"targets"`
	Default   bool       `json:"default"`
	Version   int        `json:"version"`
	UpdatedAt *time.Time `json:"updated_at"`
}

// TargetInput is a target as a client sends it; optional fields take the defaults.
type TargetInput struct {
	Code                 string
	From, To             string
	Minutes              int
	BusinessHours        bool
	WarnShare            *float64
	EscalateEveryMinutes *int
}

// PolicyInput replaces a policy: version 0 creates it.
type PolicyInput struct {
	Version int
	Targets []TargetInput
}

// Priorities are the work order priorities a policy is set for.
var Priorities = []string{"emergency", "urgent", "normal"}

// CalendarDoc is a project's business hours as stored and shown: week maps mon…sun
// onto ["HH:MM", "HH:MM"] windows, holidays are closed days, workdays are make-up
// working days with the weekday whose hours apply. Version 0: the defaults.
type CalendarDoc struct {
	ProjectID uuid.UUID             `json:"project_id"`
	Timezone  string                `json:"timezone"`
	Week      map[string][][]string `json:"week"`
	Holidays  []string              `json:"holidays"`
	Workdays  map[string]string     `json:"workdays"`
	Default   bool                  `json:"default"`
	Version   int                   `json:"version"`
	UpdatedAt *time.Time            `json:"updated_at"`
}

// CalendarInput replaces a project's calendar: version 0 creates it.
type CalendarInput struct {
	Version  int
	Week     map[string][][]string
	Holidays []string
	Workdays map[string]string
}

// The states of a target clock.
const (
	StateRunning   = "running"
	StatePaused    = "paused"
	StateMet       = "met"
	StateBreached  = "breached"
	StateCancelled = "cancelled"
)

// The kinds of SLA event kept for reports.
const (
	KindStarted   = "started"
	KindPaused    = "paused"
	KindResumed   = "resumed"
	KindWarned    = "warned"
	KindMet       = "met"
	KindBreached  = "breached"
	KindEscalated = "escalated"
	KindCancelled = "cancelled"
)

// TargetClock is one target of one work order as it runs: its allowance, how much is
// used, its deadline while running, and what has happened to it. Generation grows
// with every reschedule, so a job scheduled for an older one does nothing.
type TargetClock struct {
	ID            uuid.UUID     `json:"id"`
	WorkOrderID   uuid.UUID     `json:"work_order_id"`
	ProjectID     uuid.UUID     `json:"-"`
	Target        string        `json:"target"`
	From          string        `json:"from"`
	To            string        `json:"to"`
	Allowance     time.Duration `json:"-"`
	BusinessHours bool          `json:"business_hours"`
	WarnShare     float64       `json:"warn_share"`
	EscalateEvery time.Duration `json:"-"`
	Used          time.Duration `json:"-"`
	RunningSince  *time.Time    `json:"running_since"`
	Deadline      *time.Time    `json:"deadline"`
	WarnAt        *time.Time    `json:"warn_at"`
	State         string        `json:"state"`
	Generation    int           `json:"generation"`
	WarnedAt      *time.Time    `json:"warned_at"`
	BreachedAt    *time.Time    `json:"breached_at"`
	MetAt         *time.Time    `json:"met_at"`
	Level         int           `json:"escalation_level"`

	// AllowanceMinutes, UsedSeconds and EscalateEveryMinutes are the durations as the
	// API shows them (filled by the service before answering).
	AllowanceMinutes     int     `json:"allowance_minutes"`
	UsedSeconds          float64 `json:"used_seconds"`
	EscalateEveryMinutes *int    `json:"escalate_every_minutes"`
}

// run is the clock's allowance as a Run.
func (c *TargetClock) run() Run {
	return Run{Allowance: c.Allowance, Used: c.Used, Since: c.RunningSince}
}

// ClockEvent is one stored SLA event: due is the moment it was for (a deadline, a
// warning time), At when it happened.
type ClockEvent struct {
	ID          int64             `json:"id"`
	ClockID     uuid.UUID         `json:"clock_id"`
	WorkOrderID uuid.UUID         `json:"-"`
	ProjectID   uuid.UUID         `json:"-"`
	Target      string            `json:"target"`
	Kind        string            `json:"kind"`
	Due         *time.Time        `json:"due"`
	At          time.Time         `json:"at"`
	Level       *int              `json:"level"`
	Data        map[string]string `json:"data"`
}

// WorkOrderSLA is a work order's clocks and their events, oldest first.
type WorkOrderSLA struct {
	WorkOrderID uuid.UUID     `json:"work_order_id"`
	Clocks      []TargetClock `json:"clocks"`
	Events      []ClockEvent  `json:"events"`
}

// WorkOrderRef is what the clocks need of a work order.
type WorkOrderRef struct {
	ID        uuid.UUID
	ProjectID uuid.UUID
	Title     string
	Status    string
	OwnerID   *uuid.UUID
	Deleted   bool
	Timezone  string // the project's
}

// ProjectInfo is what the service needs of a project.
type ProjectInfo struct {
	OrganizationID uuid.UUID
	Timezone       string
}

// The alarms a clock schedules.
const (
	AlarmWarn     = "warn"
	AlarmBreach   = "breach"
	AlarmEscalate = "escalate"
)

// AlarmJob is the durable job of one alarm of one clock: it carries the generation it
// was scheduled for (and for an escalation, the level it raises the clock to), so a job
// of a rescheduled clock, or a second run of the same job, does nothing.
type AlarmJob struct {
	ClockID    uuid.UUID `json:"clock_id"`
	Alarm      string    `json:"alarm"`
	Generation int       `json:"generation"`
	Level      int       `json:"level,omitempty"`
}

// Kind implements jobs.Args.
func (AlarmJob) Kind() string { return "sla_alarm" }
