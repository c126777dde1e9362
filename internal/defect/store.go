package defect

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/page"
)

// ErrStale is what the store returns when a conditional write finds another version.
var ErrStale = errors.New("defect: the record's version changed")

// Lock says how a read inside a transaction locks the row it returns.
type Lock int

// The row locks: ForUpdate serializes the commands on one defect.
const (
	NoLock Lock = iota
	ForUpdate
)

// Place is the unit or zone a defect is in, as the rules need it.
type Place struct {
	ProjectID  uuid.UUID
	BuildingID *uuid.UUID
	// HandoverDate is the unit's planned handover day (YYYY-MM-DD); nil for zones.
	HandoverDate *string
	// Rooms are the room codes of the unit's type; nil for zones and units without one.
	Rooms []string
}

// ProjectInfo is what the service needs of a project.
type ProjectInfo struct {
	OrganizationID uuid.UUID
	Timezone       string
}

// InspectionRef is what a defect needs of the inspection that found it.
type InspectionRef struct {
	ID               uuid.UUID
	ProjectID        uuid.UUID
	UnitID           *uuid.UUID
	ZoneID           *uuid.UUID
	State            string // draft, submitted, closed
	InspectorID      uuid.UUID
	TemplateID       *uuid.UUID
	TemplateRevision *int
}

// Store is the persistence the service needs. Reads of records return only live rows
// and apperr.NotFound when there is none; conditional writes return ErrStale.
type Store interface {
	// Categories are the built-in categories and the organization's own (which
	// replace a built-in one of the same code), by position.
	Categories(ctx context.Context, organizationID uuid.UUID) ([]Category, error)
	CategoryExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error)
	// PutCategory inserts or updates the organization's own category c.
	PutCategory(ctx context.Context, organizationID uuid.UUID, c Category) error
	Severities(ctx context.Context) ([]Severity, error)
	GetSeverity(ctx context.Context, code string) (*Severity, error)

	// GetRules returns the project's rules, nil when it has none of its own.
	GetRules(ctx context.Context, projectID uuid.UUID) (*Rules, error)
	// InsertRules stores a project's first rules; ErrStale when it has some already.
	InsertRules(ctx context.Context, r *Rules) (*Rules, error)
	// UpdateRules replaces them, conditional on r.Version, raising it.
	UpdateRules(ctx context.Context, r *Rules) (*Rules, error)

	Project(ctx context.Context, id uuid.UUID) (*ProjectInfo, error)
	UnitPlace(ctx context.Context, unitID uuid.UUID) (*Place, error)
	ZonePlace(ctx context.Context, zoneID uuid.UUID) (*Place, error)
	Inspection(ctx context.Context, id uuid.UUID) (*InspectionRef, error)
	// ItemDefaults reads the defect category and severity a checklist item of a
	// template revision suggests; empty strings when it names none.
	ItemDefaults(ctx context.Context, templateID uuid.UUID, revision int, itemKey string) (category, severity string, err error)
	// PlanAttachmentUsable reports a live, not rejected attachment of the project.
	PlanAttachmentUsable(ctx context.Context, projectID, attachmentID uuid.UUID) (bool, error)
	// AfterPhotos lists the live, not rejected attachments of the defect with purpose
	// defect_after (pending ones included).
	AfterPhotos(ctx context.Context, defectID uuid.UUID) ([]uuid.UUID, error)
	// HasRole reports whether user holds role in project.
	HasRole(ctx context.Context, projectID, userID uuid.UUID, role string) (bool, error)

	InsertDefect(ctx context.Context, d *Defect) (*Defect, error)
	GetDefect(ctx context.Context, id uuid.UUID, lock Lock) (*Defect, error)
	// UpdateDefect writes every mutable field, conditional on d.Version, raising it.
	UpdateDefect(ctx context.Context, d *Defect) (*Defect, error)
	ListDefects(ctx context.Context, f Filter, req page.Request) (page.Page[Defect], error)
	// ExportDefects reads one keyset page of the list with the names of places and people.
	ExportDefects(ctx context.Context, f Filter, req page.Request) ([]ExportRow, error)

	InsertEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, defectID uuid.UUID) ([]Event, error)

	InsertComment(ctx context.Context, projectID uuid.UUID, c *Comment) (*Comment, error)
	// GetComment returns a live comment by id.
	GetComment(ctx context.Context, id uuid.UUID) (*Comment, error)
	ListComments(ctx context.Context, defectID uuid.UUID, req page.Request) (page.Page[Comment], error)
}

// Tx runs fn in one transaction (joining one already open in ctx).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// Clock is the time source; tests set it.
type Clock func() time.Time
