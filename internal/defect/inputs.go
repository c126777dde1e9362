package defect

import (
	"time"

	"github.com/google/uuid"
)

// Inputs of the service. Creates take an optional client-chosen ID; changes carry the
// version they were based on.

// NewDefect is a defect to record, in a unit or a zone.
type NewDefect struct {
	ID               *uuid.UUID
	UnitID           *uuid.UUID
	ZoneID           *uuid.UUID
	Room             *string
	PlanAttachmentID *uuid.UUID
	Pin              *Pin
	Category         string // empty: from the checklist item, else required
	Severity         string // empty: from the checklist item, else required
	Description      string
	InspectionID     *uuid.UUID
	ItemKey          *string
	ReportedAt       *time.Time // device time
}

// Patch changes what a defect says; absent fields stay as they are.
type Patch struct {
	Version          int
	Description      *string
	Room             Optional[string]
	Pin              Optional[Pin]
	PlanAttachmentID Optional[uuid.UUID]
	Category         *string
	Severity         *string
}

// Optional is a PATCH field that may be absent, null, or a value.
type Optional[T any] struct {
	Set   bool // the request named the field
	Value *T   // nil: set to null
}

// Command is a status change as the client asks for it.
type Command struct {
	Version       int
	Action        Action
	OwnerID       *uuid.UUID // assign
	DueAt         *time.Time // assign: instead of the rules' due date
	Note          *string
	Reason        *string // reopen, cancel
	AttachmentIDs []uuid.UUID
	DeviceAt      *time.Time
}

// NewComment is a remark to add to a defect.
type NewComment struct {
	ID       *uuid.UUID
	Body     string
	DeviceAt *time.Time
}

// RulesInput replaces a project's due-date rules.
type RulesInput struct {
	Version           int // 0 creates the project's rules
	DueHours          map[string]int
	DueBeforeHandover bool
}

// Filter narrows a list of a project's defects.
type Filter struct {
	ProjectID    uuid.UUID
	BuildingID   *uuid.UUID
	UnitID       *uuid.UUID
	ZoneID       *uuid.UUID
	InspectionID *uuid.UUID
	Statuses     []Status
	OwnerID      *uuid.UUID
	OwnerIsMe    bool // owner_id=me: the caller
	Category     *string
	Severity     *string
	Overdue      bool

	// Set by the service: whose drafts are visible, and the time overdue is judged at.
	Viewer uuid.UUID
	Now    time.Time
}

// History is a defect's whole history, oldest first.
type History struct {
	Items []Event `json:"items"`
}

// ExportRow is a defect with the names a spreadsheet reader needs.
type ExportRow struct {
	Defect
	BuildingCode *string
	UnitNumber   *string
	ZoneCode     *string
	OwnerName    *string
	ReporterName string
}
