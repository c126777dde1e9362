package sla

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
)

// ErrStale is what the store returns when a conditional write finds another version.
var ErrStale = errors.New("sla: the record's version changed")

// Store is the persistence the service needs. Reads inside a transaction see its writes.
type Store interface {
	Project(ctx context.Context, id uuid.UUID) (*ProjectInfo, error)
	// WorkTypeExists reports a built-in work type or one of the organization's own.
	WorkTypeExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error)

	// ListPolicies returns the project's own live policies by work type and priority.
	ListPolicies(ctx context.Context, projectID uuid.UUID) ([]Policy, error)
	// GetPolicy returns the live policy, nil when the project has none for the pair.
	GetPolicy(ctx context.Context, projectID uuid.UUID, workType, priority string) (*Policy, error)
	// InsertPolicy stores a first policy; ErrStale when there is a live one already.
	InsertPolicy(ctx context.Context, p *Policy) (*Policy, error)
	// UpdatePolicy replaces the targets, conditional on p.Version, raising it.
	UpdatePolicy(ctx context.Context, p *Policy) (*Policy, error)
	// DeletePolicy soft-deletes the live policy at version; ErrStale when it has another.
	DeletePolicy(ctx context.Context, projectID uuid.UUID, workType, priority string, version int) error

	// GetCalendar returns the project's calendar, nil when it has none of its own.
	GetCalendar(ctx context.Context, projectID uuid.UUID) (*CalendarDoc, error)
	InsertCalendar(ctx context.Context, c *CalendarDoc) (*CalendarDoc, error)
	UpdateCalendar(ctx context.Context, c *CalendarDoc) (*CalendarDoc, error)

	WorkOrder(ctx context.Context, id uuid.UUID) (*WorkOrderRef, error)
	// LockClocks returns the work order's clocks, locked for update.
	LockClocks(ctx context.Context, workOrderID uuid.UUID) ([]TargetClock, error)
	// LockAlarm returns one clock locked for update with its work order, in one round
	// trip (alarms are the hot path); apperr.NotFound when the clock is absent.
	LockAlarm(ctx context.Context, clockID uuid.UUID) (*TargetClock, *WorkOrderRef, error)
	// LockDueClocks locks up to limit running clocks other than except whose deadline is
	// at or before now, with their work orders, skipping rows another transaction holds.
	LockDueClocks(ctx context.Context, now time.Time, except uuid.UUID, limit int) ([]DueClock, error)
	InsertClocks(ctx context.Context, cs []*TargetClock) error
	// UpdateClock writes every mutable field of c.
	UpdateClock(ctx context.Context, c *TargetClock) error
	// UpdateClockWithEvent is UpdateClock and InsertEvents of e in one statement.
	UpdateClockWithEvent(ctx context.Context, c *TargetClock, e ClockEvent) error
	InsertEvents(ctx context.Context, es []ClockEvent) error
	Clocks(ctx context.Context, workOrderID uuid.UUID) ([]TargetClock, error)
	Events(ctx context.Context, workOrderID uuid.UUID) ([]ClockEvent, error)

	// Members lists the users holding role in the project.
	Members(ctx context.Context, projectID uuid.UUID, role string) ([]uuid.UUID, error)
	// OrgAdmins lists the organization's admins (the escalation's last resort).
	OrgAdmins(ctx context.Context, organizationID uuid.UUID) ([]uuid.UUID, error)
}

// Tx runs fn in one transaction (joining one already open in ctx).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// TimeSource is the service's clock; tests set it.
type TimeSource func() time.Time

// DueClock is a running clock past its deadline, locked, with its work order.
type DueClock struct {
	Clock     *TargetClock
	WorkOrder *WorkOrderRef
}
