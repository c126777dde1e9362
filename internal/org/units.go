package org

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

// checkUnit validates a unit against its building and, when it names one, its unit type.
func (s *Service) checkUnit(ctx context.Context, u *Unit, b *Building, c *checker) error {
	c.text("number", u.Number, 1, maxNumberLen)
	c.intRange("floor", u.Floor, minFloor, maxFloor)
	if u.Floor > b.Floors && u.Floor <= maxFloor {
		c.add("floor", "building", fmt.Sprintf("must be at most %d, the building's floors", b.Floors))
	}
	c.date("handover_date", u.HandoverDate)
	if u.UnitTypeID != nil {
		t, err := s.store.GetUnitType(ctx, *u.UnitTypeID, ForShare)
		switch {
		case errors.Is(err, apperr.ErrNotFound):
			c.add("unit_type_id", "exists", "is not a unit type of this project")
		case err != nil:
			return err
		case t.ProjectID != u.ProjectID:
			c.add("unit_type_id", "exists", "is not a unit type of this project")
		}
	}
	return c.err()
}

func trimmedPtr(v *string) *string {
	if v == nil {
		return nil
	}
	t := strings.TrimSpace(*v)
	return &t
}

// CreateUnit adds a unit to a building (project admins); the unit takes the building's project.
func (s *Service) CreateUnit(ctx context.Context, buildingID uuid.UUID, in NewUnit) (_ *Unit, created bool, _ error) {
	var want Unit // set by the check, once the building is known
	return createOnce(ctx, s.tx, s.units, in.ID,
		func(ctx context.Context) error {
			b, err := s.buildings.load(ctx, buildingID, ForShare, authz.RoleAdmin)
			if err != nil {
				return err
			}
			want = Unit{
				ProjectID:    b.ProjectID,
				BuildingID:   b.ID,
				UnitTypeID:   in.UnitTypeID,
				Number:       strings.TrimSpace(in.Number),
				Floor:        in.Floor,
				HandoverDate: trimmedPtr(in.HandoverDate),
			}
			var c checker
			checkClientID(&c, in.ID)
			return s.checkUnit(ctx, &want, b, &c)
		},
		func(cur *Unit) (bool, bool) {
			return cur.BuildingID == want.BuildingID && cur.Number == want.Number && cur.Floor == want.Floor &&
					ids.Same(cur.UnitTypeID, want.UnitTypeID) && ids.Same(cur.HandoverDate, want.HandoverDate),
				visibleTo(ctx, cur.ProjectID)
		},
		func(ctx context.Context, id uuid.UUID) (*Unit, error) {
			u := want
			u.ID = id
			return s.store.InsertUnit(ctx, &u)
		})
}

// GetUnit returns a unit of one of the caller's projects.
func (s *Service) GetUnit(ctx context.Context, id uuid.UUID) (*Unit, error) {
	return s.units.load(ctx, id, NoLock)
}

// ListBuildingUnits lists a building's units in id order.
func (s *Service) ListBuildingUnits(ctx context.Context, buildingID uuid.UUID, req page.Request) (page.Page[Unit], error) {
	b, err := s.buildings.load(ctx, buildingID, NoLock)
	if err != nil {
		return page.Page[Unit]{}, err
	}
	return s.store.ListUnits(ctx, UnitFilter{ProjectID: b.ProjectID, BuildingID: &b.ID}, req)
}

// ListUnits lists a project's units in id order, optionally of one building or floor.
func (s *Service) ListUnits(ctx context.Context, f UnitFilter, req page.Request) (page.Page[Unit], error) {
	if _, err := s.projects.load(ctx, f.ProjectID, NoLock); err != nil {
		return page.Page[Unit]{}, err
	}
	return s.store.ListUnits(ctx, f, req)
}

// UpdateUnit changes a unit; it stays in its building.
func (s *Service) UpdateUnit(ctx context.Context, id uuid.UUID, in UnitPatch) (*Unit, error) {
	return update(ctx, s.tx, s.units, id, in.Version,
		func(ctx context.Context, cur *Unit) (*Unit, error) {
			b, err := s.store.GetBuilding(ctx, cur.BuildingID, ForShare)
			if err != nil {
				return nil, err
			}
			next := *cur
			setTrimmed(&next.Number, in.Number)
			if in.Floor != nil {
				next.Floor = *in.Floor
			}
			if in.UnitTypeID.Set {
				next.UnitTypeID = in.UnitTypeID.Value
			}
			if in.HandoverDate.Set {
				next.HandoverDate = trimmedPtr(in.HandoverDate.Value)
			}
			if err := s.checkUnit(ctx, &next, b, &checker{}); err != nil {
				return nil, err
			}
			if next.Number == cur.Number && next.Floor == cur.Floor &&
				ids.Same(next.UnitTypeID, cur.UnitTypeID) && ids.Same(next.HandoverDate, cur.HandoverDate) {
				return cur, nil
			}
			return &next, nil
		},
		s.store.UpdateUnit)
}

// DeleteUnit soft-deletes a unit.
func (s *Service) DeleteUnit(ctx context.Context, id uuid.UUID, version int) error {
	return remove(ctx, s.tx, s.units, id, version, nil, s.store.DeleteUnit)
}
