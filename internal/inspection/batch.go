package inspection

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/batch"
	"github.com/fieldops/fieldops/internal/page"
)

// BulkStore reads and writes many inspections with one statement each; a Batch uses it.
type BulkStore interface {
	// LoadInspections reads the live inspections among ids with their answers, locking
	// their rows; absent ones are left out.
	LoadInspections(ctx context.Context, ids []uuid.UUID) ([]Inspection, error)
	// InsertInspections inserts new inspections as InsertInspection does, in order.
	InsertInspections(ctx context.Context, is []*Inspection) error
	// UpdateInspections writes each inspection's mutable fields as UpdateInspection
	// does: i.Version is the new version, and each row must be at the one before
	// (ErrStale otherwise). An id appears at most once.
	UpdateInspections(ctx context.Context, is []*Inspection) error
}

// Photos are the photos another batch of the same unit of work holds in memory (named
// in the same offline push), which the store cannot see yet.
type Photos interface {
	// Photo returns the project of a photo named in the unit (known false: not there).
	Photo(id uuid.UUID) (projectID uuid.UUID, known bool)
}

// Batch is a unit of work for many inspection changes in one transaction, such as an
// offline push. The service's rules run unchanged over it (see InBatch), but the
// inspections they change were read for the whole batch at once, reference data
// (places, templates and their revisions) is read once per key, and writes are kept in
// memory until Flush writes them with one statement per kind. A change that fails is
// undone through the journal instead of a savepoint. What needs other tables written
// at once (submitting or discarding a draft with its defects) answers ErrUnbatched,
// and the caller applies that change outside the batch.
//
// A Batch belongs to one goroutine and one transaction, and never sees writes made
// around it: the caller flushes it before anything else writes the table.
type Batch struct {
	store   Store
	bulk    BulkStore
	now     time.Time
	journal *batch.Journal
	ref     *batch.Cache // reference data: places, templates, organizations
	photos  Photos

	rows     map[uuid.UUID]*Inspection // nil value: known not to exist
	inserted []*Inspection
	updated  []*Inspection
}

// NewBatch starts a unit of work over the service's store; bulk writes it out, and
// journal records how to undo its writes (shared with other batches of the same unit).
func (s *Service) NewBatch(bulk BulkStore, journal *batch.Journal) *Batch {
	return &Batch{store: s.store, bulk: bulk, now: serverNow(), journal: journal, ref: &batch.Cache{}, rows: map[uuid.UUID]*Inspection{}}
}

// SetReference shares the reads of reference data, which a unit of work's writes do
// not change, with the other units of the same transaction.
func (b *Batch) SetReference(c *batch.Cache) { b.ref = c }

// InBatch returns the service working over b: reads and writes go to the batch, and
// the service's transactions are the caller's (no savepoints: the journal undoes).
func (s *Service) InBatch(b *Batch) *Service {
	c := *s
	c.store, c.tx = b, batch.NoTx{}
	return &c
}

// SetPhotos lets the batch see the photos named in the same unit of work.
func (b *Batch) SetPhotos(p Photos) { b.photos = p }

// Known returns an inspection the batch holds: read, created or changed in it. A nil
// inspection with known true is one known not to exist.
func (b *Batch) Known(id uuid.UUID) (i *Inspection, known bool) {
	i, known = b.rows[id]
	return clone(i), known
}

// Preload reads the inspections among ids the batch will change, with one statement;
// absent are ids the caller knows no row has (read in the same transaction, locked).
func (b *Batch) Preload(ctx context.Context, ids, absent []uuid.UUID) error {
	return batch.Preload(b.rows, ids, absent, func(want []uuid.UUID) ([]Inspection, error) { return b.bulk.LoadInspections(ctx, want) },
		func(r *Inspection) uuid.UUID { return r.ID })
}

// Flush writes what the batch kept: new inspections, then updates (one statement per
// round, so an inspection changed twice is written twice, in order). On error the
// caller rolls the transaction back to before the batch.
func (b *Batch) Flush(ctx context.Context) error {
	if err := b.bulk.InsertInspections(ctx, b.inserted); err != nil {
		return fmt.Errorf("insert inspections: %w", err)
	}
	for _, round := range batch.Rounds(b.updated, func(i *Inspection) uuid.UUID { return i.ID }) {
		if err := b.bulk.UpdateInspections(ctx, round); err != nil {
			return fmt.Errorf("update inspections: %w", err)
		}
	}
	b.inserted, b.updated = nil, nil
	return nil
}

// clone copies an inspection with its own answers, so a change kept in the batch is
// not changed through a copy handed out.
func clone(i *Inspection) *Inspection {
	c := batch.Copy(i)
	if c != nil && c.Answers != nil {
		c.Answers = maps.Clone(c.Answers)
	}
	return c
}

var _ Store = (*Batch)(nil)

// GetInspection implements Store from the batch, reading an inspection it has not seen.
func (b *Batch) GetInspection(ctx context.Context, id uuid.UUID, lock Lock) (*Inspection, error) {
	i, err := batch.Lookup(b.rows, id, "inspection", func() (*Inspection, error) { return b.store.GetInspection(ctx, id, lock) })
	if i != nil {
		i.Answers = maps.Clone(i.Answers)
	}
	return i, err
}

// InsertInspection implements Store: the inspection is written by Flush.
func (b *Batch) InsertInspection(ctx context.Context, i *Inspection) (*Inspection, error) {
	if cur, err := b.GetInspection(ctx, i.ID, NoLock); err == nil && cur != nil {
		return nil, apperr.Conflict("id-exists", "a record with this id already exists", nil)
	}
	out := clone(i)
	if out.Answers == nil {
		out.Answers = map[string]Answer{}
	}
	out.Version, out.CreatedAt, out.UpdatedAt = 1, b.now, b.now
	batch.Set(b.journal, b.rows, out.ID, out)
	batch.Append(b.journal, &b.inserted, out)
	return clone(out), nil
}

// UpdateInspection implements Store: conditional on i.Version as the store's is.
func (b *Batch) UpdateInspection(ctx context.Context, i *Inspection) (*Inspection, error) {
	cur, err := b.GetInspection(ctx, i.ID, ForUpdate)
	if err != nil || cur.Version != i.Version {
		return nil, ErrStale
	}
	out := clone(i)
	out.Version, out.UpdatedAt = i.Version+1, b.now
	batch.Set(b.journal, b.rows, out.ID, out)
	batch.Append(b.journal, &b.updated, clone(out))
	return clone(out), nil
}

// UnusablePhotos implements Store, seeing the photos named in the unit: those are
// pending photos, usable when they are of the project.
func (b *Batch) UnusablePhotos(ctx context.Context, projectID uuid.UUID, ids []uuid.UUID) ([]uuid.UUID, error) {
	var bad, stored []uuid.UUID
	for _, id := range ids {
		if b.photos != nil {
			if p, known := b.photos.Photo(id); known {
				if p != projectID {
					bad = append(bad, id)
				}
				continue
			}
		}
		stored = append(stored, id)
	}
	more, err := b.store.UnusablePhotos(ctx, projectID, stored)
	return append(bad, more...), err
}

// Reference data, read once per batch.

// GetTemplate implements Store.
func (b *Batch) GetTemplate(ctx context.Context, id uuid.UUID, lock Lock) (*Template, error) {
	return batch.Once(b.ref, fmt.Sprintf("inspection/template:%s:%d", id, lock), func() (*Template, error) { return b.store.GetTemplate(ctx, id, lock) })
}

// GetRevision implements Store.
func (b *Batch) GetRevision(ctx context.Context, templateID uuid.UUID, revision int) (*Revision, error) {
	return batch.Once(b.ref, fmt.Sprintf("inspection/revision:%s:%d", templateID, revision), func() (*Revision, error) {
		return b.store.GetRevision(ctx, templateID, revision)
	})
}

// KnownCategories implements Store.
func (b *Batch) KnownCategories(ctx context.Context, orgID uuid.UUID) ([]string, error) {
	return batch.Once(b.ref, "inspection/categories:"+orgID.String(), func() ([]string, error) { return b.store.KnownCategories(ctx, orgID) })
}

// KnownSeverities implements Store.
func (b *Batch) KnownSeverities(ctx context.Context) ([]string, error) {
	return batch.Once(b.ref, "inspection/severities", func() ([]string, error) { return b.store.KnownSeverities(ctx) })
}

// ProjectOrganization implements Store.
func (b *Batch) ProjectOrganization(ctx context.Context, projectID uuid.UUID) (uuid.UUID, error) {
	return batch.Once(b.ref, "inspection/organization:"+projectID.String(), func() (uuid.UUID, error) {
		return b.store.ProjectOrganization(ctx, projectID)
	})
}

// UnitPlace implements Store.
func (b *Batch) UnitPlace(ctx context.Context, unitID uuid.UUID) (Place, error) {
	return batch.Once(b.ref, "inspection/unit:"+unitID.String(), func() (Place, error) { return b.store.UnitPlace(ctx, unitID) })
}

// ZonePlace implements Store.
func (b *Batch) ZonePlace(ctx context.Context, zoneID uuid.UUID) (Place, error) {
	return batch.Once(b.ref, "inspection/zone:"+zoneID.String(), func() (Place, error) { return b.store.ZonePlace(ctx, zoneID) })
}

// What a batch does not do: template changes never come from a push, and deleting,
// submitting or discarding a draft writes its defects too.

// PublishDraftDefects implements Store.
func (b *Batch) PublishDraftDefects(context.Context, uuid.UUID, uuid.UUID) (int, error) {
	return 0, batch.ErrUnbatched
}

// DiscardDraftDefects implements Store.
func (b *Batch) DiscardDraftDefects(context.Context, uuid.UUID, uuid.UUID) (int, error) {
	return 0, batch.ErrUnbatched
}

// DeleteInspection implements Store.
func (b *Batch) DeleteInspection(context.Context, uuid.UUID, int) error { return batch.ErrUnbatched }

// ListInspections implements Store.
func (b *Batch) ListInspections(context.Context, ListQuery, page.Request) (page.Page[Inspection], error) {
	return page.Page[Inspection]{}, batch.ErrUnbatched
}

// InsertTemplate implements Store.
func (b *Batch) InsertTemplate(context.Context, *Template) (*Template, error) {
	return nil, batch.ErrUnbatched
}

// ListTemplates implements Store.
func (b *Batch) ListTemplates(context.Context, uuid.UUID, *uuid.UUID, page.Request) (page.Page[Template], error) {
	return page.Page[Template]{}, batch.ErrUnbatched
}

// UpdateTemplate implements Store.
func (b *Batch) UpdateTemplate(context.Context, *Template, bool, uuid.UUID) (*Template, error) {
	return nil, batch.ErrUnbatched
}

// DeleteTemplate implements Store.
func (b *Batch) DeleteTemplate(context.Context, uuid.UUID, int) error { return batch.ErrUnbatched }
