package org

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
)

// Service manages the organization model. Reads are open to any member of the
// object's project; writes need the project's admin role (organization admins hold it
// in every project of their organization); creating a project needs an organization
// admin.
type Service struct {
	store Store
	tx    Tx
}

// NewService returns the service over store; tx opens its transactions.
func NewService(store Store, tx Tx) *Service {
	return &Service{store: store, tx: tx}
}

// newID is the client's id when given, else a fresh UUIDv7.
func newID(id *uuid.UUID) (uuid.UUID, error) {
	if id != nil {
		return *id, nil
	}
	v, err := uuid.NewV7()
	if err != nil {
		return uuid.Nil, apperr.Internal("new id: %w", err)
	}
	return v, nil
}

func checkClientID(c *checker, id *uuid.UUID) {
	if id != nil && *id == uuid.Nil {
		c.add("id", "uuid", "must not be the nil UUID")
	}
}

// createOnce makes a create with a client-chosen id safe to retry: when a record with
// that id exists, an identical one is returned as is (created false), a different
// one is a conflict (showing it only when the caller can see its project).
func createOnce[T any](ctx context.Context, id *uuid.UUID,
	existing func(context.Context, uuid.UUID) (*T, error),
	match func(*T) (same, visible bool),
	insert func(context.Context) (*T, error),
) (*T, bool, error) {
	if id != nil {
		cur, err := existing(ctx, *id)
		switch {
		case err == nil:
			same, visible := match(cur)
			if same {
				return cur, false, nil
			}
			if visible {
				return nil, false, idExists(cur)
			}
			return nil, false, idExists(nil)
		case !errors.Is(err, apperr.ErrNotFound):
			return nil, false, err
		}
	}
	out, err := insert(ctx)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// visibleTo reports whether the caller in ctx belongs to project.
func visibleTo(ctx context.Context, project uuid.UUID) bool {
	p, ok := authz.FromContext(ctx)
	return ok && p.Has(project)
}

// staleOr turns ErrStale from a conditional write into a version conflict carrying
// the record as it now is.
func staleOr[T any](ctx context.Context, err error, reload func(context.Context) (*T, error)) error {
	if !errors.Is(err, ErrStale) {
		return err
	}
	cur, rerr := reload(ctx)
	if rerr != nil {
		return rerr
	}
	return apperr.VersionConflict(cur)
}

// checkVersion answers a write based on another version than cur's.
func checkVersion(given, current int, cur any) error {
	if given != current {
		return apperr.VersionConflict(cur)
	}
	return nil
}

func requireVersion(v int) error {
	if v < 1 {
		return apperr.Invalid("the request has invalid fields",
			apperr.FieldError{Field: "version", Rule: "required", Message: "is required: the version the change is based on"})
	}
	return nil
}

// projectFor loads a live project and checks the caller holds one of roles there.
func (s *Service) projectFor(ctx context.Context, id uuid.UUID, lock Lock, roles ...authz.Role) (*Project, error) {
	p, err := s.store.GetProject(ctx, id, lock)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Require(ctx, "project", p.ID, roles...); err != nil {
		return nil, err
	}
	return p, nil
}
