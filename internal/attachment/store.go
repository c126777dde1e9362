package attachment

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/page"
)

// Store keeps attachment rows.
type Store interface {
	// Owner finds the project of a live owner record and whether it is private to someone
	// other than viewer (see OwnerPrivate), with one read; apperr NotFound when there is none.
	Owner(ctx context.Context, ownerType string, ownerID, viewer uuid.UUID) (project uuid.UUID, private bool, err error)
	// OwnerPrivate reports an owner record that is private to someone other than viewer
	// (another person's draft inspection, or a defect found in it): its photos are theirs
	// alone until the draft is submitted.
	OwnerPrivate(ctx context.Context, ownerType string, ownerID, viewer uuid.UUID) (bool, error)
	Get(ctx context.Context, id uuid.UUID) (*Attachment, error)
	// GetForUpdate loads and locks the row for the rest of the transaction.
	GetForUpdate(ctx context.Context, id uuid.UUID) (*Attachment, error)
	// InsertNew writes a new row unless one with its id exists (live or purged): inserted
	// is false then, and nothing is written. It sets CreatedAt and UpdatedAt.
	InsertNew(ctx context.Context, a *Attachment) (inserted bool, err error)
	// MarkChecked writes the outcome of a completion (state, reject reason, what was read
	// from the file, derivatives state, receive time) onto the row if it is still pending,
	// and bumps the version; marked is false, with nothing written, when it is not (done
	// by another completion, or purged). It sets Version and UpdatedAt.
	MarkChecked(ctx context.Context, a *Attachment) (marked bool, err error)
	// Update writes every mutable field and bumps the version.
	Update(ctx context.Context, a *Attachment) error
	ListByOwner(ctx context.Context, ownerType string, ownerID uuid.UUID, req page.Request) ([]Attachment, error)
	// PendingBefore lists pending attachments asked for before t.
	PendingBefore(ctx context.Context, t time.Time, limit int) ([]Attachment, error)
	DeleteRow(ctx context.Context, id uuid.UUID) error
	// MarkPurged soft-deletes the row of a purged photo, keeping who asked for it and when.
	MarkPurged(ctx context.Context, id uuid.UUID) error
}

// OwnerTypes are the records a photo may belong to. Later areas add theirs (defect,
// inspection, work order, incident, checkpoint) with their tables in the store.
var OwnerTypes = []string{"project", "building", "unit", "unit_type", "zone", "defect", "inspection", "work_order"}
