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
	return createOnce(ctx, s.tx, s.zones, in.ID,
		func(ctx context.Context) error {
			if _, err := s.projects.load(ctx, projectID, ForShare, authz.RoleAdmin); err != nil {
				return err
			}
			c := want.check()
			checkClientID(c, in.ID)
			return c.err()
		},
		func(cur *Zone) (bool, bool) {
			return cur.ProjectID == want.ProjectID && cur.Code == want.Code && cur.Name == want.Name && cur.Kind == want.Kind,
				visibleTo(ctx, cur.ProjectID)
		},
		func(ctx context.Context, id uuid.UUID) (*Zone, error) {
			z := want
			z.ID = id
			return s.store.InsertZone(ctx, &z)
		})
}

// GetZone returns a zone of one of the caller's projects.
func (s *Service) GetZone(ctx context.Context, id uuid.UUID) (*Zone, error) {
	return s.zones.load(ctx, id, NoLock)
}

// ListZones lists a project's zones in id order.
func (s *Service) ListZones(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Zone], error) {
	return listOfProject(ctx, s.projects, projectID, req, s.store.ListZones)
}

// UpdateZone changes a zone.
func (s *Service) UpdateZone(ctx context.Context, id uuid.UUID, in ZonePatch) (*Zone, error) {
	return update(ctx, s.tx, s.zones, id, in.Version,
		func(_ context.Context, cur *Zone) (*Zone, error) {
			next := *cur
			setTrimmed(&next.Code, in.Code)
			setTrimmed(&next.Name, in.Name)
			if in.Kind != nil {
				next.Kind = *in.Kind
			}
			if err := next.check().err(); err != nil {
				return nil, err
			}
			if next == *cur {
				return cur, nil
			}
			return &next, nil
		},
		s.store.UpdateZone)
}

// DeleteZone soft-deletes a zone.
func (s *Service) DeleteZone(ctx context.Context, id uuid.UUID, version int) error {
	return remove(ctx, s.tx, s.zones, id, version, nil, s.store.DeleteZone)
}
