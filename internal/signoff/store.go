package signoff

import (
	"context"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/page"
)

// UnitRef is what the service needs to know of a unit.
type UnitRef struct {
	ID        uuid.UUID
	ProjectID uuid.UUID
}

// InspectionRef is what the service needs to know of an inspection.
type InspectionRef struct {
	ID          uuid.UUID
	ProjectID   uuid.UUID
	UnitID      *uuid.UUID
	State       string
	InspectorID uuid.UUID
}

// AttachmentRef is what the service needs to know of the signature's attachment.
type AttachmentRef struct {
	ID        uuid.UUID
	ProjectID uuid.UUID
	OwnerType string
	OwnerID   uuid.UUID
	Purpose   string
	State     string
}

// Store is the persistence the service needs. Reads of other areas' records return
// only live rows and apperr.NotFound when there is none.
type Store interface {
	Unit(ctx context.Context, id uuid.UUID) (*UnitRef, error)
	Inspection(ctx context.Context, id uuid.UUID) (*InspectionRef, error)
	// Attachment reads the attachment and locks it against a purge until the
	// transaction ends.
	Attachment(ctx context.Context, id uuid.UUID) (*AttachmentRef, error)
	// OpenDefects returns the unit's open defects (defect.OpenStatuses, not drafts,
	// not deleted) in id order.
	OpenDefects(ctx context.Context, unitID uuid.UUID) (Snapshot, error)
	// Insert stores a sign-off with its snapshot's canonical bytes and their hash; a
	// taken id is a Conflict "id-exists".
	Insert(ctx context.Context, s *Signoff, canonical []byte, sha256 [32]byte) (*Signoff, error)
	// Get returns a sign-off (without Current); apperr.NotFound when there is none.
	Get(ctx context.Context, id uuid.UUID) (*Signoff, error)
	// ListByUnit returns one keyset page of a unit's sign-offs in id order.
	ListByUnit(ctx context.Context, unitID uuid.UUID, req page.Request) (page.Page[Signoff], error)
}

// Tx runs fn in one transaction (joining one already open in ctx).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}
