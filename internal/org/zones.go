package org

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

// Valid reports a known zone kind.
func (k ZoneKind) Valid() bool { return slices.Contains(ZoneKinds, k) }

func (z *Zone) check() *checker {
	var c checker
	c.code("code", z.Code)
	c.name("name", z.Name)
	if !z.Kind.Valid() {
		c.add("kind", "oneof", "must be one of: site, sales, common, parking, perimeter, other")
	}
	return &c
}

// CreateZone adds a zone to a project (project admins).
func (s *Service) CreateZone(ctx context.Context, projectID uuid.UUID, in NewZone) (_ *Zone, created bool, _ error) {
	want := Zone{
		ProjectID: projectID,
		Code:      strings.TrimSpace(in.Code),
		Name:      strings.TrimSpace(in.Name),
		Kind:      in.Kind,
	}
	var out *Zone
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.projectFor(ctx, projectID, ForShare, authz.RoleAdmin); err != nil {
			return err
		}
		c := want.check()
		checkClientID(c, in.ID)
		if err := c.err(); err != nil {
			return err
		}
		var err error
		out, created, err = createOnce(ctx, in.ID,
			func(ctx context.Context, id uuid.UUID) (*Zone, error) { return s.store.GetZone(ctx, id, NoLock) },
			func(cur *Zone) (bool, bool) {
				return cur.ProjectID == want.ProjectID && cur.Code == want.Code && cur.Name == want.Name && cur.Kind == want.Kind,
					visibleTo(ctx, cur.ProjectID)
			},
			func(ctx context.Context) (*Zone, error) {
				id, err := newID(in.ID)
				if err != nil {
					return nil, err
				}
				z := want
				z.ID = id
				return s.store.InsertZone(ctx, &z)
			})
		return err
	})
	return out, created, err
}

func (s *Service) zoneFor(ctx context.Context, id uuid.UUID, lock Lock, roles ...authz.Role) (*Zone, error) {
	z, err := s.store.GetZone(ctx, id, lock)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Require(ctx, "zone", z.ProjectID, roles...); err != nil {
		return nil, err
	}
	return z, nil
}

// GetZone returns a zone of one of the caller's projects.
func (s *Service) GetZone(ctx context.Context, id uuid.UUID) (*Zone, error) {
	return s.zoneFor(ctx, id, NoLock)
}

// ListZones lists a project's zones in id order.
func (s *Service) ListZones(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Zone], error) {
	if _, err := s.projectFor(ctx, projectID, NoLock); err != nil {
		return page.Page[Zone]{}, err
	}
	return s.store.ListZones(ctx, projectID, req)
}

// UpdateZone changes a zone.
func (s *Service) UpdateZone(ctx context.Context, id uuid.UUID, in ZonePatch) (*Zone, error) {
	if err := requireVersion(in.Version); err != nil {
		return nil, err
	}
	var out *Zone
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.zoneFor(ctx, id, ForUpdate, authz.RoleAdmin)
		if err != nil {
			return err
		}
		if err := checkVersion(in.Version, cur.Version, cur); err != nil {
			return err
		}
		next := *cur
		setTrimmed(&next.Code, in.Code)
		setTrimmed(&next.Name, in.Name)
		if in.Kind != nil {
			next.Kind = *in.Kind
		}
		if err := next.check().err(); err != nil {
			return err
		}
		if next == *cur {
			out = cur
			return nil
		}
		out, err = s.store.UpdateZone(ctx, &next)
		return staleOr(ctx, err, func(ctx context.Context) (*Zone, error) { return s.store.GetZone(ctx, id, NoLock) })
	})
	return out, err
}

// DeleteZone soft-deletes a zone.
func (s *Service) DeleteZone(ctx context.Context, id uuid.UUID, version int) error {
	if err := requireVersion(version); err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.zoneFor(ctx, id, ForUpdate, authz.RoleAdmin)
		if err != nil {
			return err
		}
		if err := checkVersion(version, cur.Version, cur); err != nil {
			return err
		}
		err = s.store.DeleteZone(ctx, id, version)
		return staleOr(ctx, err, func(ctx context.Context) (*Zone, error) { return s.store.GetZone(ctx, id, NoLock) })
	})
}
