// Package inspection is checklist templates (per organization or project, each change
// of content a new immutable revision) and the inspections made with them: a unit's
// walkthrough or a zone's site acceptance, private to its author while a draft, then
// submitted with its answers frozen, then closed.
package inspection

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Kind is what an inspection is for.
type Kind string

// The inspection kinds. Site acceptance is of a zone; the others are of a unit.
const (
	KindPreHandover        Kind = "pre_handover"        // the developer's own check before handover
	KindJointWalkthrough   Kind = "joint_walkthrough"   // with the buyer
	KindHandoverAcceptance Kind = "handover_acceptance" // on handover day
	KindOneYearCheck       Kind = "one_year_check"      // the one-year quality check
	KindSiteAcceptance     Kind = "site_acceptance"     // of a zone: sales site, common areas
)

// Kinds lists every inspection kind.
var Kinds = []Kind{KindPreHandover, KindJointWalkthrough, KindHandoverAcceptance, KindOneYearCheck, KindSiteAcceptance}

// Valid reports a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// OfZone reports whether inspections of this kind are of a zone rather than a unit.
func (k Kind) OfZone() bool { return k == KindSiteAcceptance }

// State is where an inspection is in its life.
type State string

// The states: a draft is private to its author and editable; submitted freezes the
// answers; closed ends it.
const (
	StateDraft     State = "draft"
	StateSubmitted State = "submitted"
	StateClosed    State = "closed"
)

// States lists every state.
var States = []State{StateDraft, StateSubmitted, StateClosed}

// ItemKind is the kind of answer a checklist item takes.
type ItemKind string

// The item kinds.
const (
	ItemPassFail ItemKind = "pass_fail" // result pass, fail or na
	ItemNumber   ItemKind = "number"    // a measured value, in the item's unit
	ItemText     ItemKind = "text"      // free text
	ItemChoice   ItemKind = "choice"    // one of the item's choices
	ItemPhoto    ItemKind = "photo"     // one or more photos
)

// ItemKinds lists every item kind.
var ItemKinds = []ItemKind{ItemPassFail, ItemNumber, ItemText, ItemChoice, ItemPhoto}

// Results of an answer.
const (
	ResultPass = "pass"
	ResultFail = "fail"
	ResultNA   = "na"
)

// Template is a checklist template with the sections of its current revision.
type Template struct {
	ID             uuid.UUID  `json:"id"`
	OrganizationID uuid.UUID  `json:"organization_id"`
	ProjectID      *uuid.UUID `json:"project_id"` // nil: every project of the organization
	Name           string     `json:"name"`
	Kinds          []Kind     `json:"kinds"` // the inspection kinds it is meant for; empty: any
	Revision       int        `json:"revision"`
	Sections       []Section  `json:"sections"`
	CreatedBy      uuid.UUID  `json:"created_by"`
	Version        int        `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Revision is one immutable revision of a template's content.
type Revision struct {
	TemplateID     uuid.UUID  `json:"template_id"`
	OrganizationID uuid.UUID  `json:"organization_id"`
	ProjectID      *uuid.UUID `json:"project_id"`
	Revision       int        `json:"revision"`
	Sections       []Section  `json:"sections"`
	CreatedBy      uuid.UUID  `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
}

// Section is a part of a checklist, usually a room or an area.
type Section struct {
	Key   string `json:"key"`
	Title string `json:"title"`
	Items []Item `json:"items"`
}

// Item is one thing to check. Its key is the stable id answers and defects refer to.
type Item struct {
	Key           string        `json:"key"`
	Title         string        `json:"title"`
	Kind          ItemKind      `json:"kind"`
	Required      bool          `json:"required"`
	Unit          string        `json:"unit,omitempty"`    // number items
	Choices       []string      `json:"choices,omitempty"` // choice items
	PhotoRequired bool          `json:"photo_required"`
	Defect        *DefectPreset `json:"defect,omitempty"`
}

// DefectPreset is the category and severity a defect raised from a failing item starts with.
type DefectPreset struct {
	Category string `json:"category"`
	Severity string `json:"severity"`
}

// Inspection is one inspection of a unit or a zone.
type Inspection struct {
	ID               uuid.UUID  `json:"id"`
	ProjectID        uuid.UUID  `json:"project_id"`
	BuildingID       *uuid.UUID `json:"building_id"`
	UnitID           *uuid.UUID `json:"unit_id"`
	ZoneID           *uuid.UUID `json:"zone_id"`
	Kind             Kind       `json:"kind"`
	TemplateID       *uuid.UUID `json:"template_id"`
	TemplateRevision *int       `json:"template_revision"`
	InspectorID      uuid.UUID  `json:"inspector_id"`
	BuyerPresent     bool       `json:"buyer_present"`
	BuyerName        *string    `json:"buyer_name"`
	Notes            string     `json:"notes"`
	// Answers maps item keys onto answers; lists leave it out (nil).
	Answers     map[string]Answer `json:"answers,omitzero"`
	State       State             `json:"state"`
	StartedAt   *time.Time        `json:"started_at"`  // device time
	FinishedAt  *time.Time        `json:"finished_at"` // device time
	SubmittedAt *time.Time        `json:"submitted_at"`
	ClosedAt    *time.Time        `json:"closed_at"`
	Version     int               `json:"version"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

// Answer is the answer to one item. Which fields it has depends on the item's kind.
type Answer struct {
	Result     *string     `json:"result,omitempty"` // pass, fail, na
	Value      *float64    `json:"value,omitempty"`
	Text       *string     `json:"text,omitempty"`
	Choice     *string     `json:"choice,omitempty"`
	PhotoIDs   []uuid.UUID `json:"photo_ids,omitempty"`
	Note       *string     `json:"note,omitempty"`
	AnsweredAt *time.Time  `json:"answered_at,omitempty"` // device time
}

// NotApplicable reports an answer saying the item does not apply.
func (a *Answer) NotApplicable() bool { return a.Result != nil && *a.Result == ResultNA }

// Inputs of the service. Creates take an optional client-chosen ID; patches and
// commands carry the version they were based on.

// NewTemplate is a template to create; ProjectID nil makes it organization-wide.
type NewTemplate struct {
	ID        *uuid.UUID
	ProjectID *uuid.UUID
	Name      string
	Kinds     []Kind
	Sections  []Section
}

// TemplatePatch changes a template; nil slices leave Kinds and Sections as they are.
// New sections make a new revision.
type TemplatePatch struct {
	Version  int
	Name     *string
	Kinds    []Kind
	Sections []Section
}

// NewInspection is an inspection to start; exactly one of UnitID and ZoneID is set.
type NewInspection struct {
	ID           *uuid.UUID
	UnitID       *uuid.UUID
	ZoneID       *uuid.UUID
	Kind         Kind
	TemplateID   *uuid.UUID
	BuyerPresent bool
	BuyerName    *string
	StartedAt    *time.Time
	Notes        string
}

// Patch changes a draft. Answers merge key by key: a nil answer removes the key.
type Patch struct {
	Version      int
	Notes        *string
	BuyerPresent *bool
	BuyerName    *string // "" removes the name
	FinishedAt   *time.Time
	Answers      map[string]*Answer
}

// Submit freezes a draft's answers.
type Submit struct {
	Version    int
	FinishedAt *time.Time
}

// Filter narrows a list of inspections. With no project, unit or zone it
// lists the inspections of every project where the caller may read them.
type Filter struct {
	ProjectID *uuid.UUID
	UnitID    *uuid.UUID
	ZoneID    *uuid.UUID
	State     *State
	Mine      bool // only the caller's own
}

// ListQuery is what the store lists: live inspections of the projects, drafts only
// of the viewer.
type ListQuery struct {
	ProjectIDs  []uuid.UUID
	UnitID      *uuid.UUID
	ZoneID      *uuid.UUID
	State       *State
	InspectorID *uuid.UUID
	Viewer      uuid.UUID
}

// Place is where a unit or zone is: its project and, for a unit, its building.
type Place struct {
	ProjectID  uuid.UUID
	BuildingID *uuid.UUID
}
