package workorder

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/page"
)

// ErrStale is what the store returns when a conditional write finds another version.
var ErrStale = errors.New("workorder: the record's version changed")

// Lock says how a read inside a transaction locks the row it returns.
type Lock int

// The row locks: ForUpdate serializes the commands on one work order.
const (
	NoLock Lock = iota
	ForUpdate
)

// Place is the project (and building) a unit, zone or building belongs to.
type Place struct {
	ProjectID  uuid.UUID
	BuildingID *uuid.UUID
}

// Store is the persistence the service needs. Reads of records return only live rows
// and apperr.NotFound when there is none; conditional writes return ErrStale.
type Store interface {
	// WorkTypes are the built-in types and the organization's own (which replace a
	// built-in one of the same code), by position.
	WorkTypes(ctx context.Context, organizationID uuid.UUID) ([]WorkType, error)
	WorkTypeExists(ctx context.Context, organizationID uuid.UUID, code string) (bool, error)
	// PutWorkType inserts or updates the organization's own work type t.
	PutWorkType(ctx context.Context, organizationID uuid.UUID, t WorkType) error

	UnitPlace(ctx context.Context, unitID uuid.UUID) (*Place, error)
	ZonePlace(ctx context.Context, zoneID uuid.UUID) (*Place, error)
	BuildingPlace(ctx context.Context, buildingID uuid.UUID) (*Place, error)
	// DefectProject returns the project of a live defect.
	DefectProject(ctx context.Context, defectID uuid.UUID) (uuid.UUID, error)
	// IsMember reports whether a live, enabled user holds any role in the project.
	IsMember(ctx context.Context, projectID, userID uuid.UUID) (bool, error)
	// AfterPhotos lists the live, not rejected attachments of the work order with
	// purpose defect_after or other (pending ones included).
	AfterPhotos(ctx context.Context, workOrderID uuid.UUID) ([]uuid.UUID, error)

	InsertWorkOrder(ctx context.Context, w *WorkOrder) (*WorkOrder, error)
	GetWorkOrder(ctx context.Context, id uuid.UUID, lock Lock) (*WorkOrder, error)
	// UpdateWorkOrder writes every mutable field, conditional on w.Version, raising it.
	UpdateWorkOrder(ctx context.Context, w *WorkOrder) (*WorkOrder, error)
	ListWorkOrders(ctx context.Context, f Filter, req page.Request) (page.Page[WorkOrder], error)

	InsertEvent(ctx context.Context, e *Event) error
	ListEvents(ctx context.Context, workOrderID uuid.UUID) ([]Event, error)

	// InsertPIIView logs a full view of personal data.
	InsertPIIView(ctx context.Context, v PIIView) error
}

// Tx runs fn in one transaction (joining one already open in ctx).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// Clock is the time source; tests set it.
type Clock func() time.Time
