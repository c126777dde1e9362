package org

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

func (b *Building) check() *checker {
	var c checker
	c.code("code", b.Code)
	c.name("name", b.Name)
	c.intRange("floors", b.Floors, 1, maxFloors)
	return &c
}

// CreateBuilding adds a building to a project (project admins).
func (s *Service) CreateBuilding(ctx context.Context, projectID uuid.UUID, in NewBuilding) (_ *Building, created bool, _ error) {
	want := Building{
		ProjectID: projectID,
		Code:      strings.TrimSpace(in.Code),
		Name:      strings.TrimSpace(in.Name),
		Floors:    in.Floors,
	}
	return createOnce(ctx, s.tx, s.buildings, in.ID,
		func(ctx context.Context) error {
			if _, err := s.projects.load(ctx, projectID, ForShare, authz.RoleAdmin); err != nil {
				return err
			}
			c := want.check()
			checkClientID(c, in.ID)
			return c.err()
		},
		func(cur *Building) (bool, bool) {
			return cur.ProjectID == want.ProjectID && cur.Code == want.Code && cur.Name == want.Name && cur.Floors == want.Floors,
				visibleTo(ctx, cur.ProjectID)
		},
		func(ctx context.Context, id uuid.UUID) (*Building, error) {
			b := want
			b.ID = id
			return s.store.InsertBuilding(ctx, &b)
		})
}

// GetBuilding returns a building of one of the caller's projects.
func (s *Service) GetBuilding(ctx context.Context, id uuid.UUID) (*Building, error) {
	return s.buildings.load(ctx, id, NoLock)
}

// ListBuildings lists a project's buildings in id order.
func (s *Service) ListBuildings(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Building], error) {
	return listOfProject(ctx, s.projects, projectID, req, s.store.ListBuildings)
}

// UpdateBuilding changes a building; its floors may not drop below its highest unit.
func (s *Service) UpdateBuilding(ctx context.Context, id uuid.UUID, in BuildingPatch) (*Building, error) {
	return update(ctx, s.tx, s.buildings, id, in.Version,
		func(ctx context.Context, cur *Building) (*Building, error) {
			next := *cur
			setTrimmed(&next.Code, in.Code)
			setTrimmed(&next.Name, in.Name)
			if in.Floors != nil {
				next.Floors = *in.Floors
			}
			c := next.check()
			if len(c.errs) == 0 && next.Floors < cur.Floors {
				top, ok, err := s.store.HighestUnitFloor(ctx, id)
				if err != nil {
					return nil, err
				}
				if ok && top > next.Floors {
					c.add("floors", "units", fmt.Sprintf("must be at least %d: a unit of this building is on that floor", top))
				}
			}
			if err := c.err(); err != nil {
				return nil, err
			}
			if next == *cur {
				return cur, nil
			}
			return &next, nil
		},
		s.store.UpdateBuilding)
}

// DeleteBuilding soft-deletes a building without live units.
func (s *Service) DeleteBuilding(ctx context.Context, id uuid.UUID, version int) error {
	return remove(ctx, s.tx, s.buildings, id, version,
		func(ctx context.Context) error {
			_, hasUnits, err := s.store.HighestUnitFloor(ctx, id)
			if err != nil {
				return err
			}
			if hasUnits {
				return apperr.Conflict("building-not-empty", "the building still has units; delete them first", nil)
			}
			return nil
		},
		s.store.DeleteBuilding)
}
