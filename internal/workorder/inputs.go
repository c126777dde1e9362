package workorder

import (
	"time"

	"github.com/google/uuid"
)

// Inputs of the service. Creates take an optional client-chosen ID; changes carry the
// version they were based on.

// NewWorkOrder is a work order to record. The place is the project, and within it
// optionally a building, and a unit or a zone.
type NewWorkOrder struct {
	ID             *uuid.UUID
	ProjectID      uuid.UUID
	BuildingID     *uuid.UUID
	UnitID         *uuid.UUID
	ZoneID         *uuid.UUID
	LocationDetail string
	WorkType       string
	Source         string
	Priority       string
	Title          string
	Description    string
	ReporterName   *string
	ReporterPhone  *string
	ReportedAt     *time.Time // nil: now
	DefectID       *uuid.UUID
}

// Patch changes what a work order says; absent fields stay as they are.
type Patch struct {
	Version        int
	Title          *string
	Description    *string
	LocationDetail *string
	Priority       *string
	ReporterName   Optional[string]
	ReporterPhone  Optional[string]
}

// Optional is a PATCH field that may be absent, null, or a value.
type Optional[T any] struct {
	Set   bool // the request named the field
	Value *T   // nil: set to null
}

// Command is a command as the client gives it.
type Command struct {
	Version       int
	Action        Action
	OwnerID       *uuid.UUID // assign, hand_over
	Note          *string
	Reason        *string // reopen, cancel, wait
	AttachmentIDs []uuid.UUID
	DeviceAt      *time.Time
}

// Filter narrows a list of a project's work orders.
type Filter struct {
	ProjectID  uuid.UUID
	BuildingID *uuid.UUID
	UnitID     *uuid.UUID
	ZoneID     *uuid.UUID
	Statuses   []Status
	OwnerID    *uuid.UUID
	OwnerIsMe  bool // owner_id=me: the caller
	Priority   *string
	WorkType   *string
	Source     *string
	// Overdue keeps open work orders with an SLA clock past its deadline and not met.
	Overdue bool

	// Set by the service: the time overdue is judged at.
	Now time.Time
}

// History is a work order's whole history, oldest first.
type History struct {
	Items []Event `json:"items"`
}
