package org

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

func trimRooms(in []RoomInput) []RoomInput {
	out := make([]RoomInput, len(in))
	for i, r := range in {
		out[i] = RoomInput{Code: strings.TrimSpace(r.Code), Name: strings.TrimSpace(r.Name)}
	}
	return out
}

func checkRooms(c *checker, rooms []RoomInput) {
	if len(rooms) < 1 || len(rooms) > maxRooms {
		c.add("rooms", "range", fmt.Sprintf("must have from 1 to %d rooms", maxRooms))
		return
	}
	seen := make(map[string]int, len(rooms))
	for i, r := range rooms {
		field := fmt.Sprintf("rooms[%d]", i)
		c.code(field+".code", r.Code)
		c.name(field+".name", r.Name)
		if j, dup := seen[r.Code]; dup && r.Code != "" {
			c.add(field+".code", "unique", fmt.Sprintf("repeats the code of rooms[%d]", j))
		} else {
			seen[r.Code] = i
		}
	}
}

// roomsFor gives the rooms their ids: a room whose code the old list had keeps its id.
func roomsFor(in []RoomInput, old []Room) ([]Room, error) {
	byCode := make(map[string]uuid.UUID, len(old))
	for _, r := range old {
		byCode[r.Code] = r.ID
	}
	out := make([]Room, len(in))
	for i, r := range in {
		id, ok := byCode[r.Code]
		if !ok {
			var err error
			if id, err = ids.New(nil); err != nil {
				return nil, err
			}
		}
		out[i] = Room{ID: id, Code: r.Code, Name: r.Name, Position: i}
	}
	return out, nil
}

func sameRooms(rooms []Room, in []RoomInput) bool {
	if len(rooms) != len(in) {
		return false
	}
	for i := range rooms {
		if rooms[i].Code != in[i].Code || rooms[i].Name != in[i].Name {
			return false
		}
	}
	return true
}

// CreateUnitType adds a unit type with its rooms to a project (project admins).
func (s *Service) CreateUnitType(ctx context.Context, projectID uuid.UUID, in NewUnitType) (_ *UnitType, created bool, _ error) {
	code, name, rooms := strings.TrimSpace(in.Code), strings.TrimSpace(in.Name), trimRooms(in.Rooms)
	return createOnce(ctx, s.tx, s.unitTypes, in.ID,
		func(ctx context.Context) error {
			if _, err := s.projects.load(ctx, projectID, ForShare, authz.RoleAdmin); err != nil {
				return err
			}
			var c checker
			checkClientID(&c, in.ID)
			c.code("code", code)
			c.name("name", name)
			checkRooms(&c, rooms)
			return c.err()
		},
		func(cur *UnitType) (bool, bool) {
			return cur.ProjectID == projectID && cur.Code == code && cur.Name == name && sameRooms(cur.Rooms, rooms),
				visibleTo(ctx, cur.ProjectID)
		},
		func(ctx context.Context, id uuid.UUID) (*UnitType, error) {
			rs, err := roomsFor(rooms, nil)
			if err != nil {
				return nil, err
			}
			return s.store.InsertUnitType(ctx, &UnitType{ID: id, ProjectID: projectID, Code: code, Name: name, Rooms: rs})
		})
}

// GetUnitType returns a unit type with its rooms.
func (s *Service) GetUnitType(ctx context.Context, id uuid.UUID) (*UnitType, error) {
	return s.unitTypes.load(ctx, id, NoLock)
}

// ListUnitTypes lists a project's unit types with their rooms, in id order.
func (s *Service) ListUnitTypes(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[UnitType], error) {
	return listOfProject(ctx, s.projects, projectID, req, s.store.ListUnitTypes)
}

// UpdateUnitType changes a unit type. Rooms, when given, replace the list: rooms keep
// their id while their code stays, take the new order, and the others are removed.
func (s *Service) UpdateUnitType(ctx context.Context, id uuid.UUID, in UnitTypePatch) (*UnitType, error) {
	return update(ctx, s.tx, s.unitTypes, id, in.Version,
		func(_ context.Context, cur *UnitType) (*UnitType, error) {
			next := *cur
			setTrimmed(&next.Code, in.Code)
			setTrimmed(&next.Name, in.Name)
			var c checker
			c.code("code", next.Code)
			c.name("name", next.Name)
			roomsChanged := false
			if in.Rooms != nil {
				rooms := trimRooms(in.Rooms)
				checkRooms(&c, rooms)
				if len(c.errs) == 0 && !sameRooms(cur.Rooms, rooms) {
					roomsChanged = true
					var err error
					if next.Rooms, err = roomsFor(rooms, cur.Rooms); err != nil {
						return nil, err
					}
				}
			}
			if err := c.err(); err != nil {
				return nil, err
			}
			if !roomsChanged && next.Code == cur.Code && next.Name == cur.Name {
				return cur, nil
			}
			return &next, nil
		},
		s.store.UpdateUnitType)
}

// DeleteUnitType soft-deletes a unit type no live unit uses.
func (s *Service) DeleteUnitType(ctx context.Context, id uuid.UUID, version int) error {
	return remove(ctx, s.tx, s.unitTypes, id, version,
		func(ctx context.Context) error {
			inUse, err := s.store.UnitTypeInUse(ctx, id)
			if err != nil {
				return err
			}
			if inUse {
				return apperr.Conflict("unit-type-in-use", "units still use this unit type; change or delete them first", nil)
			}
			return nil
		},
		s.store.DeleteUnitType)
}
