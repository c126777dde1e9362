package api

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/page"
)

// The org requests carry no rules beyond presence: the org service checks every field
// (the CSV import needs the same rules) and names them as they are named here.

type createProjectRequest struct {
	ID       *string `json:"id" validate:"omitnil,uuid"`
	Code     string  `json:"code"`
	Name     string  `json:"name"`
	City     string  `json:"city"`
	Timezone string  `json:"timezone"`
}

type updateProjectRequest struct {
	Version  int     `json:"version"`
	Code     *string `json:"code"`
	Name     *string `json:"name"`
	City     *string `json:"city"`
	Timezone *string `json:"timezone"`
}

type createBuildingRequest struct {
	ID     *string `json:"id" validate:"omitnil,uuid"`
	Code   string  `json:"code"`
	Name   string  `json:"name"`
	Floors int     `json:"floors"`
}

type updateBuildingRequest struct {
	Version int     `json:"version"`
	Code    *string `json:"code"`
	Name    *string `json:"name"`
	Floors  *int    `json:"floors"`
}

type roomRequest struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

type createUnitTypeRequest struct {
	ID    *string       `json:"id" validate:"omitnil,uuid"`
	Code  string        `json:"code"`
	Name  string        `json:"name"`
	Rooms []roomRequest `json:"rooms"`
}

type updateUnitTypeRequest struct {
	Version int           `json:"version"`
	Code    *string       `json:"code"`
	Name    *string       `json:"name"`
	Rooms   []roomRequest `json:"rooms"` // absent or null: unchanged
}

type createUnitRequest struct {
	ID           *string `json:"id" validate:"omitnil,uuid"`
	Number       string  `json:"number"`
	Floor        *int    `json:"floor" validate:"required"` // 0 is a floor, so presence is checked
	UnitTypeID   *string `json:"unit_type_id" validate:"omitnil,uuid"`
	HandoverDate *string `json:"handover_date"`
}

type updateUnitRequest struct {
	Version      int                 `json:"version"`
	Number       *string             `json:"number"`
	Floor        *int                `json:"floor"`
	UnitTypeID   orgNullable[string] `json:"unit_type_id"`
	HandoverDate orgNullable[string] `json:"handover_date"`
}

type createZoneRequest struct {
	ID   *string `json:"id" validate:"omitnil,uuid"`
	Code string  `json:"code"`
	Name string  `json:"name"`
	Kind string  `json:"kind"`
}

type updateZoneRequest struct {
	Version int     `json:"version"`
	Code    *string `json:"code"`
	Name    *string `json:"name"`
	Kind    *string `json:"kind"`
}

// orgNullable is a PATCH field that tells absent (Set false) from null (Value nil).
type orgNullable[T any] struct {
	Set   bool
	Value *T
}

func (n *orgNullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		n.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	n.Value = &v
	return nil
}

// orgOptionalUUID parses a nullable id field of a PATCH body.
func orgOptionalUUID(field string, n orgNullable[string]) (org.Optional[uuid.UUID], error) {
	if !n.Set || n.Value == nil {
		return org.Optional[uuid.UUID]{Set: n.Set}, nil
	}
	id, err := orgUUIDField(field, n.Value)
	if err != nil {
		return org.Optional[uuid.UUID]{}, err
	}
	return org.Some(*id), nil
}

// orgUUIDField parses an optional id already checked by the validator's uuid rule.
func orgUUIDField(field string, s *string) (*uuid.UUID, error) {
	if s == nil {
		return nil, nil
	}
	id, err := uuid.Parse(*s)
	if err != nil {
		return nil, apperr.Invalid("the request has invalid fields", apperr.FieldError{Field: field, Rule: "uuid", Message: "must be a UUID"})
	}
	return &id, nil
}

func orgRooms(in []roomRequest) []org.RoomInput {
	if in == nil {
		return nil
	}
	out := make([]org.RoomInput, len(in))
	for i, r := range in {
		out[i] = org.RoomInput{Code: r.Code, Name: r.Name}
	}
	return out
}

// The converters from requests to the org service's inputs.

func (r *createProjectRequest) toNew() (org.NewProject, error) {
	id, err := orgUUIDField("id", r.ID)
	return org.NewProject{ID: id, Code: r.Code, Name: r.Name, City: r.City, Timezone: r.Timezone}, err
}

func (r *updateProjectRequest) toPatch() (org.ProjectPatch, error) {
	return org.ProjectPatch{Version: r.Version, Code: r.Code, Name: r.Name, City: r.City, Timezone: r.Timezone}, nil
}

func (r *createBuildingRequest) toNew() (org.NewBuilding, error) {
	id, err := orgUUIDField("id", r.ID)
	return org.NewBuilding{ID: id, Code: r.Code, Name: r.Name, Floors: r.Floors}, err
}

func (r *updateBuildingRequest) toPatch() (org.BuildingPatch, error) {
	return org.BuildingPatch{Version: r.Version, Code: r.Code, Name: r.Name, Floors: r.Floors}, nil
}

func (r *createUnitTypeRequest) toNew() (org.NewUnitType, error) {
	id, err := orgUUIDField("id", r.ID)
	return org.NewUnitType{ID: id, Code: r.Code, Name: r.Name, Rooms: orgRooms(r.Rooms)}, err
}

func (r *updateUnitTypeRequest) toPatch() (org.UnitTypePatch, error) {
	return org.UnitTypePatch{Version: r.Version, Code: r.Code, Name: r.Name, Rooms: orgRooms(r.Rooms)}, nil
}

func (r *createUnitRequest) toNew() (org.NewUnit, error) {
	id, err := orgUUIDField("id", r.ID)
	if err != nil {
		return org.NewUnit{}, err
	}
	typeID, err := orgUUIDField("unit_type_id", r.UnitTypeID)
	return org.NewUnit{ID: id, Number: r.Number, Floor: *r.Floor, UnitTypeID: typeID, HandoverDate: r.HandoverDate}, err
}

func (r *updateUnitRequest) toPatch() (org.UnitPatch, error) {
	typeID, err := orgOptionalUUID("unit_type_id", r.UnitTypeID)
	return org.UnitPatch{
		Version: r.Version, Number: r.Number, Floor: r.Floor, UnitTypeID: typeID,
		HandoverDate: org.Optional[string]{Set: r.HandoverDate.Set, Value: r.HandoverDate.Value},
	}, err
}

func (r *createZoneRequest) toNew() (org.NewZone, error) {
	id, err := orgUUIDField("id", r.ID)
	return org.NewZone{ID: id, Code: r.Code, Name: r.Name, Kind: org.ZoneKind(r.Kind)}, err
}

func (r *updateZoneRequest) toPatch() (org.ZonePatch, error) {
	var kind *org.ZoneKind
	if r.Kind != nil {
		k := org.ZoneKind(*r.Kind)
		kind = &k
	}
	return org.ZonePatch{Version: r.Version, Code: r.Code, Name: r.Name, Kind: kind}, nil
}

// registerOrgRoutes adds projects, buildings, unit types, units, zones and the unit import.
func registerOrgRoutes(authed fiber.Router, s *org.Service) {
	authed.Post("/projects", create((*createProjectRequest).toNew, s.CreateProject))
	authed.Get("/projects", list(s.ListProjects))
	authed.Get("/projects/:id", getByID(s.GetProject))
	authed.Patch("/projects/:id", patchByID((*updateProjectRequest).toPatch, s.UpdateProject))
	authed.Delete("/projects/:id", deleteByID(s.DeleteProject))

	authed.Post("/projects/:project_id/buildings", createIn("project_id", (*createBuildingRequest).toNew, s.CreateBuilding))
	authed.Get("/projects/:project_id/buildings", listIn("project_id", s.ListBuildings))
	authed.Get("/buildings/:id", getByID(s.GetBuilding))
	authed.Patch("/buildings/:id", patchByID((*updateBuildingRequest).toPatch, s.UpdateBuilding))
	authed.Delete("/buildings/:id", deleteByID(s.DeleteBuilding))

	authed.Post("/projects/:project_id/unit-types", createIn("project_id", (*createUnitTypeRequest).toNew, s.CreateUnitType))
	authed.Get("/projects/:project_id/unit-types", listIn("project_id", s.ListUnitTypes))
	authed.Get("/unit-types/:id", getByID(s.GetUnitType))
	authed.Patch("/unit-types/:id", patchByID((*updateUnitTypeRequest).toPatch, s.UpdateUnitType))
	authed.Delete("/unit-types/:id", deleteByID(s.DeleteUnitType))

	authed.Post("/buildings/:building_id/units", createIn("building_id", (*createUnitRequest).toNew, s.CreateUnit))
	authed.Get("/buildings/:building_id/units", listIn("building_id", s.ListBuildingUnits))
	authed.Get("/projects/:project_id/units", listProjectUnits(s))
	authed.Post("/projects/:project_id/units/import", importUnits(s))
	authed.Get("/units/:id", getByID(s.GetUnit))
	authed.Patch("/units/:id", patchByID((*updateUnitRequest).toPatch, s.UpdateUnit))
	authed.Delete("/units/:id", deleteByID(s.DeleteUnit))

	authed.Post("/projects/:project_id/zones", createIn("project_id", (*createZoneRequest).toNew, s.CreateZone))
	authed.Get("/projects/:project_id/zones", listIn("project_id", s.ListZones))
	authed.Get("/zones/:id", getByID(s.GetZone))
	authed.Patch("/zones/:id", patchByID((*updateZoneRequest).toPatch, s.UpdateZone))
	authed.Delete("/zones/:id", deleteByID(s.DeleteZone))
}

// listProjectUnits answers GET /projects/:project_id/units?building_id=&floor=.
func listProjectUnits(s *org.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		f := org.UnitFilter{ProjectID: projectID}
		if raw := c.Query("building_id"); raw != "" {
			id, err := uuid.Parse(raw)
			if err != nil {
				return apperr.Invalid("bad filter", apperr.FieldError{Field: "building_id", Rule: "uuid", Message: "must be a UUID"})
			}
			f.BuildingID = &id
		}
		if raw := c.Query("floor"); raw != "" {
			floor, err := strconv.Atoi(raw)
			if err != nil {
				return apperr.Invalid("bad filter", apperr.FieldError{Field: "floor", Rule: "type", Message: "must be a whole number"})
			}
			f.Floor = &floor
		}
		return list(func(ctx context.Context, req page.Request) (page.Page[org.Unit], error) {
			return s.ListUnits(ctx, f, req)
		})(c)
	}
}

// importUnits answers POST /projects/:project_id/units/import with a CSV body.
func importUnits(s *org.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		// Like bindJSON, a body without a content type is taken as what the endpoint reads.
		ct := strings.ToLower(strings.TrimSpace(strings.Split(c.Get(fiber.HeaderContentType), ";")[0]))
		if ct != "" && ct != "text/csv" {
			return apperr.UnsupportedMedia("send the file as text/csv (UTF-8)")
		}
		res, err := s.ImportUnits(c.UserContext(), projectID, bytes.NewReader(c.Body()))
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, res)
	}
}
