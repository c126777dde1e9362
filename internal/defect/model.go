// Package defect is the defect workflow: defects found in a unit (or a zone) with one
// owner from assignment to close, status changes as commands with role and evidence
// rules, an append-only history, comments, the project's due-date rules, lists, the
// handover KPIs and the CSV export.
package defect

import (
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/authz"
)

// Status is where a defect is in its workflow.
type Status string

// The statuses.
const (
	StatusOpen       Status = "open"
	StatusAssigned   Status = "assigned"
	StatusInProgress Status = "in_progress"
	StatusFixed      Status = "fixed"
	StatusVerified   Status = "verified"
	StatusReopened   Status = "reopened"
	StatusCancelled  Status = "cancelled"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusOpen, StatusAssigned, StatusInProgress, StatusFixed, StatusVerified, StatusReopened, StatusCancelled}

// OpenStatuses are the statuses of a defect still to be dealt with: the ones a buyer's
// sign-off lists and the overdue filter looks at.
var OpenStatuses = []Status{StatusOpen, StatusAssigned, StatusInProgress, StatusFixed, StatusReopened}

// Action is a status-changing command.
type Action string

// The commands.
const (
	ActionAssign   Action = "assign"   // open|assigned|reopened → assigned: picks the engineer who owns it
	ActionAccept   Action = "accept"   // assigned|reopened → in_progress: the owner takes it on
	ActionFix      Action = "fix"      // in_progress → fixed: the owner, with at least one after-photo
	ActionVerify   Action = "verify"   // fixed → verified: ambassador or supervisor
	ActionReopen   Action = "reopen"   // fixed → reopened: with a reason; same owner
	ActionCancel   Action = "cancel"   // any open status → cancelled: supervisor, with a reason
	ActionCreate   Action = "create"   // the first history entry
	ActionEdit     Action = "edit"     // a change of the description, place or classification
	ActionSubmit   Action = "submit"   // its inspection was submitted: no longer a draft
	ActionDiscard  Action = "discard"  // its draft inspection was deleted
	ActionDueReset Action = "due_date" // the due date was changed without a status change
)

// Transition is one allowed status change: the command, the statuses it starts from,
// where it leads, and who may give it ("owner" is checked separately).
type Transition struct {
	Action Action
	From   []Status
	To     Status
	Roles  []authz.Role
	// OwnerOnly: only the defect's owner may give it (and they must hold one of Roles).
	OwnerOnly bool
}

// Transitions is the workflow. Project admins may give every command a supervisor may.
var Transitions = []Transition{
	{ActionAssign, []Status{StatusOpen, StatusAssigned, StatusReopened}, StatusAssigned,
		[]authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador}, false},
	{ActionAccept, []Status{StatusAssigned, StatusReopened}, StatusInProgress,
		[]authz.Role{authz.RoleEngineer}, true},
	{ActionFix, []Status{StatusInProgress}, StatusFixed,
		[]authz.Role{authz.RoleEngineer}, true},
	{ActionVerify, []Status{StatusFixed}, StatusVerified,
		[]authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador}, false},
	{ActionReopen, []Status{StatusFixed}, StatusReopened,
		[]authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador}, false},
	{ActionCancel, []Status{StatusOpen, StatusAssigned, StatusInProgress, StatusFixed, StatusReopened}, StatusCancelled,
		[]authz.Role{authz.RoleAdmin, authz.RoleSupervisor}, false},
}

// Defect is one defect.
type Defect struct {
	ID               uuid.UUID  `json:"id"`
	ProjectID        uuid.UUID  `json:"project_id"`
	BuildingID       *uuid.UUID `json:"building_id"`
	UnitID           *uuid.UUID `json:"unit_id"`
	ZoneID           *uuid.UUID `json:"zone_id"`
	Room             *string    `json:"room"`
	PlanAttachmentID *uuid.UUID `json:"plan_attachment_id"`
	Pin              *Pin       `json:"pin"`
	Category         string     `json:"category"`
	Severity         string     `json:"severity"`
	Description      string     `json:"description"`
	InspectionID     *uuid.UUID `json:"inspection_id"`
	ItemKey          *string    `json:"item_key"`
	Draft            bool       `json:"draft"`
	Status           Status     `json:"status"`
	OwnerID          *uuid.UUID `json:"owner_id"`
	DueAt            *time.Time `json:"due_at"`
	Overdue          bool       `json:"overdue"`
	ReportedBy       uuid.UUID  `json:"reported_by"`
	DeviceReportedAt *time.Time `json:"device_reported_at"`
	AssignedAt       *time.Time `json:"assigned_at"`
	AcceptedAt       *time.Time `json:"accepted_at"`
	FixedAt          *time.Time `json:"fixed_at"`
	FirstFixedAt     *time.Time `json:"first_fixed_at"`
	VerifiedAt       *time.Time `json:"verified_at"`
	ClosedAt         *time.Time `json:"closed_at"`
	ReopenCount      int        `json:"reopen_count"`
	CancelReason     *string    `json:"cancel_reason"`
	Version          int        `json:"version"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// Pin is a point on the unit type's floor plan, as fractions of its width and height
// from the top left corner.
type Pin struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Event is one entry of a defect's append-only history.
type Event struct {
	ID            int64       `json:"id"`
	DefectID      uuid.UUID   `json:"defect_id"`
	Action        Action      `json:"action"`
	FromStatus    *Status     `json:"from_status"`
	ToStatus      Status      `json:"to_status"`
	ActorID       uuid.UUID   `json:"actor_id"`
	OwnerID       *uuid.UUID  `json:"owner_id"`
	DueAt         *time.Time  `json:"due_at"`
	Note          *string     `json:"note"`
	AttachmentIDs []uuid.UUID `json:"attachment_ids"`
	DeviceAt      *time.Time  `json:"device_at"`
	CreatedAt     time.Time   `json:"created_at"` // server time
}

// Comment is a remark on a defect.
type Comment struct {
	ID        uuid.UUID  `json:"id"`
	DefectID  uuid.UUID  `json:"defect_id"`
	AuthorID  uuid.UUID  `json:"author_id"`
	Body      string     `json:"body"`
	DeviceAt  *time.Time `json:"device_at"`
	Version   int        `json:"version"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Category is a kind of defect, with its labels. Built-in categories are shared by
// every organization; an organization may add its own.
type Category struct {
	Code         string `json:"code"`
	LabelEN      string `json:"label_en"`
	LabelZH      string `json:"label_zh"`
	CountsAsLeak bool   `json:"counts_as_leak"`
	Position     int    `json:"position"`
}

// Severity is how bad a defect is; DefaultDueHours is the time to fix when the
// project's rules say nothing.
type Severity struct {
	Code            string `json:"code"`
	LabelEN         string `json:"label_en"`
	LabelZH         string `json:"label_zh"`
	Rank            int    `json:"rank"`
	DefaultDueHours int    `json:"default_due_hours"`
}

// Rules are a project's due-date rules.
type Rules struct {
	ProjectID uuid.UUID `json:"project_id"`
	// DueHours overrides the severity's default time to fix, by severity code.
	DueHours map[string]int `json:"due_hours"`
	// DueBeforeHandover: a defect of a unit not yet handed over is due before the
	// unit's handover date (start of that day in the project's time zone) when that
	// is earlier.
	DueBeforeHandover bool `json:"due_before_handover"`
	// Version is 0 while the project has no rules of its own (the defaults apply).
	Version   int        `json:"version"`
	UpdatedAt *time.Time `json:"updated_at"`
}
