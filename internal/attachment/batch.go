package attachment

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/batch"
	"github.com/fieldops/fieldops/internal/page"
)

// BulkStore writes the photos a Batch named, with one statement.
type BulkStore interface {
	InsertAttachments(ctx context.Context, as []*Attachment) error
}

// Owner is what a batch knows of an owner record another batch of the same unit of
// work holds in memory (a defect made in the same offline push).
type Owner struct {
	ProjectID uuid.UUID
	// PrivateTo is the only user who may see it (a draft's author), nil for everyone.
	PrivateTo *uuid.UUID
}

// Owners looks an owner record up in the unit of work: known false sends the question
// to the store; a nil owner with known true does not exist.
type Owners func(ownerType string, id uuid.UUID) (owner *Owner, known bool)

// Batch is a unit of work for naming many photos in one transaction (an offline push):
// Create runs unchanged over it (see InBatch), owners made in the same unit are found in
// memory, and the new rows are written by Flush with one statement.
type Batch struct {
	store   Store
	bulk    BulkStore
	owners  Owners
	journal *batch.Journal
	cache   batch.Cache
	now     time.Time

	rows     map[uuid.UUID]*Attachment // nil value: known not to exist
	inserted []*Attachment
}

// NewBatch starts a unit of work over the service's store.
func (s *Service) NewBatch(bulk BulkStore, owners Owners, journal *batch.Journal) *Batch {
	return &Batch{store: s.store, bulk: bulk, owners: owners, journal: journal, now: time.Now().UTC(), rows: map[uuid.UUID]*Attachment{}}
}

// InBatch returns the service working over b.
func (s *Service) InBatch(b *Batch) *Service {
	c := *s
	c.store, c.tx = b, batch.NoTx{}
	return &c
}

// Absent records ids the caller knows no row has (read under lock in the same transaction).
func (b *Batch) Absent(ids []uuid.UUID) {
	for _, id := range ids {
		b.rows[id] = nil
	}
}

// Named lists the live photos of an owner with a purpose named in this batch.
func (b *Batch) Named(ownerType string, ownerID uuid.UUID, purpose string) []uuid.UUID {
	var out []uuid.UUID
	for _, a := range b.inserted {
		if a.OwnerType == ownerType && a.OwnerID == ownerID && a.Purpose == purpose {
			out = append(out, a.ID)
		}
	}
	return out
}

// Known returns a photo named in this batch (known false: not named here).
func (b *Batch) Known(id uuid.UUID) (*Attachment, bool) {
	for _, a := range b.inserted {
		if a.ID == id {
			return batch.Copy(a), true
		}
	}
	return nil, false
}

// Flush writes the photos named.
func (b *Batch) Flush(ctx context.Context) error {
	if len(b.inserted) == 0 {
		return nil
	}
	if err := b.bulk.InsertAttachments(ctx, b.inserted); err != nil {
		return err
	}
	b.inserted = nil
	return nil
}

var _ Store = (*Batch)(nil)

// Owner implements Store, from the unit of work when it holds the owner.
func (b *Batch) Owner(ctx context.Context, ownerType string, ownerID, viewer uuid.UUID) (uuid.UUID, bool, error) {
	if o, known := b.owners(ownerType, ownerID); known {
		if o == nil {
			return uuid.Nil, false, apperr.NotFound(ownerType)
		}
		return o.ProjectID, o.PrivateTo != nil && *o.PrivateTo != viewer, nil
	}
	type owner struct {
		project uuid.UUID
		private bool
	}
	o, err := batch.Once(&b.cache, "owner:"+ownerType+":"+ownerID.String()+":"+viewer.String(), func() (owner, error) {
		project, private, err := b.store.Owner(ctx, ownerType, ownerID, viewer)
		return owner{project, private}, err
	})
	return o.project, o.private, err
}

// OwnerPrivate implements Store, from the unit of work when it holds the owner.
func (b *Batch) OwnerPrivate(ctx context.Context, ownerType string, ownerID, viewer uuid.UUID) (bool, error) {
	if o, known := b.owners(ownerType, ownerID); known && o != nil {
		return o.PrivateTo != nil && *o.PrivateTo != viewer, nil
	}
	return batch.Once(&b.cache, "private:"+ownerType+":"+ownerID.String()+":"+viewer.String(), func() (bool, error) {
		return b.store.OwnerPrivate(ctx, ownerType, ownerID, viewer)
	})
}

// Get implements Store.
func (b *Batch) Get(ctx context.Context, id uuid.UUID) (*Attachment, error) {
	return batch.Lookup(b.rows, id, "attachment", func() (*Attachment, error) { return b.store.GetForUpdate(ctx, id) })
}

// GetForUpdate implements Store: the push locked the rows it changes.
func (b *Batch) GetForUpdate(ctx context.Context, id uuid.UUID) (*Attachment, error) {
	return b.Get(ctx, id)
}

// InsertNew implements Store: the row is written by Flush.
func (b *Batch) InsertNew(ctx context.Context, a *Attachment) (bool, error) {
	if cur, err := b.Get(ctx, a.ID); err == nil && cur != nil {
		return false, nil
	}
	a.CreatedAt, a.UpdatedAt = b.now, b.now
	kept := batch.Copy(a)
	batch.Set(b.journal, b.rows, a.ID, kept)
	batch.Append(b.journal, &b.inserted, kept)
	return true, nil
}

// What a batch does not serve: a push never needs it.

// Update implements Store.
func (b *Batch) Update(context.Context, *Attachment) error { return batch.ErrUnbatched }

// MarkChecked implements Store.
func (b *Batch) MarkChecked(context.Context, *Attachment) (bool, error) {
	return false, batch.ErrUnbatched
}

// ListByOwner implements Store.
func (b *Batch) ListByOwner(context.Context, string, uuid.UUID, page.Request) ([]Attachment, error) {
	return nil, batch.ErrUnbatched
}

// PendingBefore implements Store.
func (b *Batch) PendingBefore(context.Context, time.Time, int) ([]Attachment, error) {
	return nil, batch.ErrUnbatched
}

// DeleteRow implements Store.
func (b *Batch) DeleteRow(context.Context, uuid.UUID) error { return batch.ErrUnbatched }

// MarkPurged implements Store.
func (b *Batch) MarkPurged(context.Context, uuid.UUID) error { return batch.ErrUnbatched }
