// Package workorder is the work order workflow: repairs, complaints, inquiries and
// cleaning reported by the hotline, the app, an inspection or a patrol, with one owner
// at a time ("first contact owns it"), status changes as commands with role and
// evidence rules, an append-only history, the reporter's personal data masked except
// for those who need it (each full view logged), and every change told to the SLA
// clocks in its own transaction.
package workorder

import (
	"time"

	"github.com/google/uuid"
)

// Status is where a work order is in its workflow.
type Status string

// The statuses.
const (
	StatusNew       Status = "new"
	StatusAssigned  Status = "assigned"
	StatusAccepted  Status = "accepted"
	StatusOnSite    Status = "on_site"
	StatusResolved  Status = "resolved"
	StatusConfirmed Status = "confirmed"
	StatusClosed    Status = "closed"
	StatusCancelled Status = "cancelled"
	StatusReopened  Status = "reopened"
)

// Statuses lists every status in workflow order.
var Statuses = []Status{StatusNew, StatusAssigned, StatusAccepted, StatusOnSite, StatusResolved, StatusConfirmed,
	StatusClosed, StatusCancelled, StatusReopened}

// OpenStatuses are the statuses of a work order still to be dealt with.
var OpenStatuses = []Status{StatusNew, StatusAssigned, StatusAccepted, StatusOnSite, StatusResolved, StatusConfirmed, StatusReopened}

// workingStatuses are the ones before the work is done, when the customer may keep the
// owner waiting.
var workingStatuses = []Status{StatusNew, StatusAssigned, StatusAccepted, StatusOnSite, StatusReopened}

// Sources say how a work order came in.
var Sources = []string{"hotline", "app", "inspection", "patrol"}

// fieldSources are the sources field staff may record; the hotline is customer service's.
var fieldSources = []string{"app", "inspection", "patrol"}

// Priorities are the priorities, most urgent first.
var Priorities = []string{"emergency", "urgent", "normal"}

// Action is a command on a work order.
type Action string

// The commands, and the history's own entries.
const (
	ActionAssign   Action = "assign"    // new|reopened → assigned: supervisors pick the owner
	ActionHandOver Action = "hand_over" // the owner changes, the status does not
	ActionAccept   Action = "accept"    // assigned → accepted: the owner takes it on
	ActionContact  Action = "contact"   // the owner reached the customer (first contact kept)
	ActionArrive   Action = "arrive"    // accepted → on_site
	ActionFeedback Action = "feedback"  // the customer was told the outcome
	ActionResolve  Action = "resolve"   // accepted|on_site → resolved, with an after-photo or a note
	ActionConfirm  Action = "confirm"   // resolved → confirmed: the call-back
	ActionClose    Action = "close"     // confirmed → closed
	ActionReopen   Action = "reopen"    // resolved|confirmed → reopened, with a reason
	ActionCancel   Action = "cancel"    // any open status → cancelled, with a reason
	ActionWait     Action = "wait"      // waiting for the customer (SLA clocks pause)
	ActionResume   Action = "resume"    // the customer is back (SLA clocks run again)
	ActionCreate   Action = "create"    // the first history entry
	ActionEdit     Action = "edit"      // a change of what the work order says
)

// Transition is one command: the statuses it starts from, where it leads (empty: the
// status stays), and who may give it: supervisors and project admins (Managers), the
// work order's owner (Owner), or either.
type Transition struct {
	Action   Action
	From     []Status
	To       Status
	Managers bool
	Owner    bool
}

// Transitions is the workflow.
var Transitions = []Transition{
	{ActionAssign, []Status{StatusNew, StatusReopened}, StatusAssigned, true, false},
	{ActionHandOver, []Status{StatusAssigned, StatusAccepted, StatusOnSite}, "", true, true},
	{ActionAccept, []Status{StatusAssigned}, StatusAccepted, false, true},
	{ActionContact, []Status{StatusAssigned, StatusAccepted, StatusOnSite}, "", false, true},
	{ActionArrive, []Status{StatusAccepted}, StatusOnSite, false, true},
	{ActionFeedback, OpenStatuses, "", true, true},
	{ActionResolve, []Status{StatusAccepted, StatusOnSite}, StatusResolved, false, true},
	{ActionConfirm, []Status{StatusResolved}, StatusConfirmed, true, false},
	{ActionClose, []Status{StatusConfirmed}, StatusClosed, true, false},
	{ActionReopen, []Status{StatusResolved, StatusConfirmed}, StatusReopened, true, false},
	{ActionCancel, OpenStatuses, StatusCancelled, true, false},
	{ActionWait, workingStatuses, "", true, true},
	{ActionResume, workingStatuses, "", true, true},
}

// WorkOrder is one work order. ReporterName and ReporterPhone are personal data: they
// are masked (ReporterMasked) for everyone but the owner and supervisors reading it.
type WorkOrder struct {
	ID              uuid.UUID  `json:"id"`
	ProjectID       uuid.UUID  `json:"project_id"`
	BuildingID      *uuid.UUID `json:"building_id"`
	UnitID          *uuid.UUID `json:"unit_id"`
	ZoneID          *uuid.UUID `json:"zone_id"`
	LocationDetail  string     `json:"location_detail"`
	WorkType        string     `json:"work_type"`
	Source          string     `json:"source"`
	Priority        string     `json:"priority"`
	Title           string     `json:"title"`
	Description     string     `json:"description"`
	ReporterName    *string    `json:"reporter_name"`
	ReporterPhone   *string    `json:"reporter_phone"`
	ReporterMasked  bool       `json:"reporter_masked"`
	ReportedAt      time.Time  `json:"reported_at"`
	DefectID        *uuid.UUID `json:"defect_id"`
	Status          Status     `json:"status"`
	OwnerID         *uuid.UUID `json:"owner_id"`
	WaitingCustomer bool       `json:"waiting_customer"`
	CreatedBy       uuid.UUID  `json:"created_by"`
	AssignedAt      *time.Time `json:"assigned_at"`
	AcceptedAt      *time.Time `json:"accepted_at"`
	ContactedAt     *time.Time `json:"contacted_at"`
	OnSiteAt        *time.Time `json:"on_site_at"`
	FeedbackAt      *time.Time `json:"feedback_at"`
	ResolvedAt      *time.Time `json:"resolved_at"`
	ConfirmedAt     *time.Time `json:"confirmed_at"`
	ClosedAt        *time.Time `json:"closed_at"`
	CancelledAt     *time.Time `json:"cancelled_at"`
	ReopenCount     int        `json:"reopen_count"`
	Version         int        `json:"version"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

// Event is one entry of a work order's append-only history.
type Event struct {
	ID            int64       `json:"id"`
	WorkOrderID   uuid.UUID   `json:"work_order_id"`
	Action        Action      `json:"action"`
	FromStatus    *Status     `json:"from_status"`
	ToStatus      Status      `json:"to_status"`
	ActorID       uuid.UUID   `json:"actor_id"`
	OwnerID       *uuid.UUID  `json:"owner_id"`
	Note          *string     `json:"note"`
	AttachmentIDs []uuid.UUID `json:"attachment_ids"`
	DeviceAt      *time.Time  `json:"device_at"`
	CreatedAt     time.Time   `json:"created_at"` // server time
}

// WorkType is a kind of work order with its labels. Built-in types are shared by every
// organization; an organization may add its own.
type WorkType struct {
	Code     string `json:"code"`
	LabelEN  string `json:"label_en"`
	LabelZH  string `json:"label_zh"`
	Position int    `json:"position"`
}

// PIIView is one logged full view of a record's personal data.
type PIIView struct {
	UserID     uuid.UUID
	ProjectID  uuid.UUID
	RecordType string
	RecordID   uuid.UUID
	Fields     []string
}
