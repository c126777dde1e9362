package org

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

// Service manages the organization model. Reads are open to any member of the
// object's project; writes need the project's admin role (organization admins hold it
// in every project of their organization); creating a project needs an organization
// admin.
type Service struct {
	store Store
	tx    Tx

	projects  records[*Project]
	buildings records[*Building]
	unitTypes records[*UnitType]
	units     records[*Unit]
	zones     records[*Zone]
}

// NewService returns the service over store; tx opens its transactions.
func NewService(store Store, tx Tx) *Service {
	return &Service{
		store:     store,
		tx:        tx,
		projects:  records[*Project]{what: "project", get: store.GetProject},
		buildings: records[*Building]{what: "building", get: store.GetBuilding},
		unitTypes: records[*UnitType]{what: "unit type", get: store.GetUnitType},
		units:     records[*Unit]{what: "unit", get: store.GetUnit},
		zones:     records[*Zone]{what: "zone", get: store.GetZone},
	}
}

func checkClientID(c *checker, id *uuid.UUID) {
	if id != nil && *id == uuid.Nil {
		c.add("id", "uuid", "must not be the nil UUID")
	}
}

// record is what the steps shared by every type of record (load, createOnce, update,
// remove) need of one.
type record interface {
	comparable
	project() uuid.UUID // the project it belongs to; a project's is its own id
	version() int
}

func (p *Project) project() uuid.UUID  { return p.ID }
func (b *Building) project() uuid.UUID { return b.ProjectID }
func (t *UnitType) project() uuid.UUID { return t.ProjectID }
func (u *Unit) project() uuid.UUID     { return u.ProjectID }
func (z *Zone) project() uuid.UUID     { return z.ProjectID }

func (p *Project) version() int  { return p.Version }
func (b *Building) version() int { return b.Version }
func (t *UnitType) version() int { return t.Version }
func (u *Unit) version() int     { return u.Version }
func (z *Zone) version() int     { return z.Version }

// records is one type of record as the shared steps read it.
type records[R record] struct {
	what string                                            // its name in errors
	get  func(context.Context, uuid.UUID, Lock) (R, error) // one live record
}

// load reads the live record id and checks the caller holds one of roles in its
// project (any role when none is named); outside the project it is not found.
func (rs records[R]) load(ctx context.Context, id uuid.UUID, lock Lock, roles ...authz.Role) (R, error) {
	var none R
	r, err := rs.get(ctx, id, lock)
	if err != nil {
		return none, err
	}
	if _, err := authz.Require(ctx, rs.what, r.project(), roles...); err != nil {
		return none, err
	}
	return r, nil
}

// loadToChange reads the record id for a change by an admin of its project, locked
// until the transaction ends, and checks the change is based on its current version.
func (rs records[R]) loadToChange(ctx context.Context, id uuid.UUID, version int) (R, error) {
	cur, err := rs.load(ctx, id, ForUpdate, authz.RoleAdmin)
	if err != nil {
		return cur, err
	}
	if cur.version() != version {
		var none R
		return none, apperr.VersionConflict(cur)
	}
	return cur, nil
}

// stale turns ErrStale from a conditional write of the record id into a version
// conflict carrying the record as it now is.
func (rs records[R]) stale(ctx context.Context, id uuid.UUID, err error) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	cur, err := rs.get(ctx, id, NoLock)
	if err != nil {
		return err
	}
	return apperr.VersionConflict(cur)
}

// listOfProject lists with list a page of the records of a project the caller belongs to.
func listOfProject[T any](ctx context.Context, projects records[*Project], projectID uuid.UUID, req page.Request,
	list func(context.Context, uuid.UUID, page.Request) (page.Page[T], error),
) (page.Page[T], error) {
	if _, err := projects.load(ctx, projectID, NoLock); err != nil {
		return page.Page[T]{}, err
	}
	return list(ctx, projectID, req)
}

// createOnce creates a record in one transaction, safe to retry with a client-chosen
// id. check (the parent and the fields) runs first. When a record with that id exists,
// an identical one is returned as is (created false), a different one is a conflict
// (showing it only when the caller can see its project). Else insert stores the new
// record under the client's id or a fresh one.
func createOnce[R record](ctx context.Context, tx Tx, rs records[R], id *uuid.UUID,
	check func(context.Context) error,
	match func(cur R) (same, visible bool),
	insert func(ctx context.Context, id uuid.UUID) (R, error),
) (out R, created bool, _ error) {
	err := tx.InTx(ctx, func(ctx context.Context) error {
		if check != nil {
			if err := check(ctx); err != nil {
				return err
			}
		}
		if id != nil {
			cur, err := rs.get(ctx, *id, NoLock)
			switch {
			case err == nil:
				same, visible := match(cur)
				if same {
					out = cur
					return nil
				}
				if visible {
					return idExists(cur)
				}
				return idExists(nil)
			case !errors.Is(err, apperr.ErrNotFound):
				return err
			}
		}
		recordID, err := ids.New(id)
		if err != nil {
			return err
		}
		out, err = insert(ctx, recordID)
		created = err == nil
		return err
	})
	return out, created, err
}

// update changes the record id in one transaction for an admin of its project, when
// the change is based on its current version: change builds the next state from cur
// (cur itself when nothing changes, which writes nothing) and write stores it,
// conditional on the version.
func update[R record](ctx context.Context, tx Tx, rs records[R], id uuid.UUID, version int,
	change func(ctx context.Context, cur R) (R, error),
	write func(context.Context, R) (R, error),
) (R, error) {
	var out R
	if err := requireVersion(version); err != nil {
		return out, err
	}
	err := tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := rs.loadToChange(ctx, id, version)
		if err != nil {
			return err
		}
		next, err := change(ctx, cur)
		if err != nil {
			return err
		}
		if next == cur {
			out = cur
			return nil
		}
		out, err = write(ctx, next)
		return rs.stale(ctx, id, err)
	})
	return out, err
}

// remove soft-deletes the record id in one transaction for an admin of its project,
// when the delete is based on its current version and check (when not nil) finds
// nothing that still depends on the record.
func remove[R record](ctx context.Context, tx Tx, rs records[R], id uuid.UUID, version int,
	check func(context.Context) error,
	del func(ctx context.Context, id uuid.UUID, version int) error,
) error {
	if err := requireVersion(version); err != nil {
		return err
	}
	return tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := rs.loadToChange(ctx, id, version); err != nil {
			return err
		}
		if check != nil {
			if err := check(ctx); err != nil {
				return err
			}
		}
		return rs.stale(ctx, id, del(ctx, id, version))
	})
}

// visibleTo reports whether the caller in ctx belongs to project.
func visibleTo(ctx context.Context, project uuid.UUID) bool {
	p, ok := authz.FromContext(ctx)
	return ok && p.Has(project)
}

func requireVersion(v int) error {
	if v < 1 {
		return apperr.Invalid("the request has invalid fields",
			apperr.FieldError{Field: "version", Rule: "required", Message: "is required: the version the change is based on"})
	}
	return nil
}
