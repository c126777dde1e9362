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
	var out *Building
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
			func(ctx context.Context, id uuid.UUID) (*Building, error) {
				return s.store.GetBuilding(ctx, id, NoLock)
			},
			func(cur *Building) (bool, bool) {
				return cur.ProjectID == want.ProjectID && cur.Code == want.Code && cur.Name == want.Name && cur.Floors == want.Floors,
					visibleTo(ctx, cur.ProjectID)
			},
			func(ctx context.Context) (*Building, error) {
				id, err := newID(in.ID)
				if err != nil {
					return nil, err
				}
				b := want
				b.ID = id
				return s.store.InsertBuilding(ctx, &b)
			})
		return err
	})
	return out, created, err
}

// buildingFor loads a live building and checks the caller's role in its project.
func (s *Service) buildingFor(ctx context.Context, id uuid.UUID, lock Lock, roles ...authz.Role) (*Building, error) {
	b, err := s.store.GetBuilding(ctx, id, lock)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Require(ctx, "building", b.ProjectID, roles...); err != nil {
		return nil, err
	}
	return b, nil
}

// GetBuilding returns a building of one of the caller's projects.
func (s *Service) GetBuilding(ctx context.Context, id uuid.UUID) (*Building, error) {
	return s.buildingFor(ctx, id, NoLock)
}

// ListBuildings lists a project's buildings in id order.
func (s *Service) ListBuildings(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Building], error) {
	if _, err := s.projectFor(ctx, projectID, NoLock); err != nil {
		return page.Page[Building]{}, err
	}
	return s.store.ListBuildings(ctx, projectID, req)
}

// UpdateBuilding changes a building; its floors may not drop below its highest unit.
func (s *Service) UpdateBuilding(ctx context.Context, id uuid.UUID, in BuildingPatch) (*Building, error) {
	if err := requireVersion(in.Version); err != nil {
		return nil, err
	}
	var out *Building
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.buildingFor(ctx, id, ForUpdate, authz.RoleAdmin)
		if err != nil {
			return err
		}
		if err := checkVersion(in.Version, cur.Version, cur); err != nil {
			return err
		}
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
				return err
			}
			if ok && top > next.Floors {
				c.add("floors", "units", fmt.Sprintf("must be at least %d: a unit of this building is on that floor", top))
			}
		}
		if err := c.err(); err != nil {
			return err
		}
		if next == *cur {
			out = cur
			return nil
		}
		out, err = s.store.UpdateBuilding(ctx, &next)
		return staleOr(ctx, err, func(ctx context.Context) (*Building, error) { return s.store.GetBuilding(ctx, id, NoLock) })
	})
	return out, err
}

// DeleteBuilding soft-deletes a building without live units.
func (s *Service) DeleteBuilding(ctx context.Context, id uuid.UUID, version int) error {
	if err := requireVersion(version); err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.buildingFor(ctx, id, ForUpdate, authz.RoleAdmin)
		if err != nil {
			return err
		}
		if err := checkVersion(version, cur.Version, cur); err != nil {
			return err
		}
		_, hasUnits, err := s.store.HighestUnitFloor(ctx, id)
		if err != nil {
			return err
		}
		if hasUnits {
			return apperr.Conflict("building-not-empty", "the building still has units; delete them first", nil)
		}
		err = s.store.DeleteBuilding(ctx, id, version)
		return staleOr(ctx, err, func(ctx context.Context) (*Building, error) { return s.store.GetBuilding(ctx, id, NoLock) })
	})
}
