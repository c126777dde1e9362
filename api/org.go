package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/org"
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

// orgVersionQuery reads the required ?version= of a DELETE.
func orgVersionQuery(c *fiber.Ctx) (int, error) {
	raw := c.Query("version")
	if raw == "" {
		return 0, apperr.Invalid("the version is required", apperr.FieldError{Field: "version", Rule: "required", Message: "is required: the version the delete is based on"})
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < 1 {
		return 0, apperr.Invalid("bad version", apperr.FieldError{Field: "version", Rule: "type", Message: "must be a whole number from 1"})
	}
	return v, nil
}

// orgCreated answers 201 for a new record, 200 when a retry found it already made.
func orgCreated(c *fiber.Ctx, v any, isNew bool) error {
	if isNew {
		return writeJSON(c, fiber.StatusCreated, v)
	}
	return writeJSON(c, fiber.StatusOK, v)
}

// registerOrgRoutes adds projects, buildings, unit types, units, zones and the unit import.
func registerOrgRoutes(authed fiber.Router, s *org.Service) {
	registerProjectRoutes(authed, s)
	registerBuildingRoutes(authed, s)
	registerUnitTypeRoutes(authed, s)
	registerUnitRoutes(authed, s)
	registerZoneRoutes(authed, s)
}

func registerProjectRoutes(authed fiber.Router, s *org.Service) {
	authed.Post("/projects", func(c *fiber.Ctx) error {
		var req createProjectRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		id, err := orgUUIDField("id", req.ID)
		if err != nil {
			return err
		}
		p, isNew, err := s.CreateProject(c.UserContext(), org.NewProject{ID: id, Code: req.Code, Name: req.Name, City: req.City, Timezone: req.Timezone})
		if err != nil {
			return err
		}
		return orgCreated(c, p, isNew)
	})
	authed.Get("/projects", func(c *fiber.Ctx) error {
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListProjects(c.UserContext(), req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Get("/projects/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		p, err := s.GetProject(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Patch("/projects/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		var req updateProjectRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		p, err := s.UpdateProject(c.UserContext(), id, org.ProjectPatch{Version: req.Version, Code: req.Code, Name: req.Name, City: req.City, Timezone: req.Timezone})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Delete("/projects/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		version, err := orgVersionQuery(c)
		if err != nil {
			return err
		}
		if err := s.DeleteProject(c.UserContext(), id, version); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

func registerBuildingRoutes(authed fiber.Router, s *org.Service) {
	authed.Post("/projects/:project_id/buildings", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		var req createBuildingRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		id, err := orgUUIDField("id", req.ID)
		if err != nil {
			return err
		}
		b, isNew, err := s.CreateBuilding(c.UserContext(), projectID, org.NewBuilding{ID: id, Code: req.Code, Name: req.Name, Floors: req.Floors})
		if err != nil {
			return err
		}
		return orgCreated(c, b, isNew)
	})
	authed.Get("/projects/:project_id/buildings", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListBuildings(c.UserContext(), projectID, req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Get("/buildings/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		b, err := s.GetBuilding(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, b)
	})
	authed.Patch("/buildings/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		var req updateBuildingRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		b, err := s.UpdateBuilding(c.UserContext(), id, org.BuildingPatch{Version: req.Version, Code: req.Code, Name: req.Name, Floors: req.Floors})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, b)
	})
	authed.Delete("/buildings/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		version, err := orgVersionQuery(c)
		if err != nil {
			return err
		}
		if err := s.DeleteBuilding(c.UserContext(), id, version); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

func registerUnitTypeRoutes(authed fiber.Router, s *org.Service) {
	authed.Post("/projects/:project_id/unit-types", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		var req createUnitTypeRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		id, err := orgUUIDField("id", req.ID)
		if err != nil {
			return err
		}
		t, isNew, err := s.CreateUnitType(c.UserContext(), projectID, org.NewUnitType{ID: id, Code: req.Code, Name: req.Name, Rooms: orgRooms(req.Rooms)})
		if err != nil {
			return err
		}
		return orgCreated(c, t, isNew)
	})
	authed.Get("/projects/:project_id/unit-types", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListUnitTypes(c.UserContext(), projectID, req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Get("/unit-types/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		t, err := s.GetUnitType(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, t)
	})
	authed.Patch("/unit-types/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		var req updateUnitTypeRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		t, err := s.UpdateUnitType(c.UserContext(), id, org.UnitTypePatch{Version: req.Version, Code: req.Code, Name: req.Name, Rooms: orgRooms(req.Rooms)})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, t)
	})
	authed.Delete("/unit-types/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		version, err := orgVersionQuery(c)
		if err != nil {
			return err
		}
		if err := s.DeleteUnitType(c.UserContext(), id, version); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

func registerUnitRoutes(authed fiber.Router, s *org.Service) {
	authed.Post("/buildings/:building_id/units", func(c *fiber.Ctx) error {
		buildingID, err := uuidParam(c, "building_id")
		if err != nil {
			return err
		}
		var req createUnitRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		id, err := orgUUIDField("id", req.ID)
		if err != nil {
			return err
		}
		typeID, err := orgUUIDField("unit_type_id", req.UnitTypeID)
		if err != nil {
			return err
		}
		u, isNew, err := s.CreateUnit(c.UserContext(), buildingID, org.NewUnit{ID: id, Number: req.Number, Floor: *req.Floor, UnitTypeID: typeID, HandoverDate: req.HandoverDate})
		if err != nil {
			return err
		}
		return orgCreated(c, u, isNew)
	})
	authed.Get("/buildings/:building_id/units", func(c *fiber.Ctx) error {
		buildingID, err := uuidParam(c, "building_id")
		if err != nil {
			return err
		}
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListBuildingUnits(c.UserContext(), buildingID, req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Get("/projects/:project_id/units", func(c *fiber.Ctx) error {
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
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListUnits(c.UserContext(), f, req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Post("/projects/:project_id/units/import", func(c *fiber.Ctx) error {
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
	})
	authed.Get("/units/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		u, err := s.GetUnit(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, u)
	})
	authed.Patch("/units/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		var req updateUnitRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		typeID, err := orgOptionalUUID("unit_type_id", req.UnitTypeID)
		if err != nil {
			return err
		}
		u, err := s.UpdateUnit(c.UserContext(), id, org.UnitPatch{
			Version: req.Version, Number: req.Number, Floor: req.Floor, UnitTypeID: typeID,
			HandoverDate: org.Optional[string]{Set: req.HandoverDate.Set, Value: req.HandoverDate.Value},
		})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, u)
	})
	authed.Delete("/units/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		version, err := orgVersionQuery(c)
		if err != nil {
			return err
		}
		if err := s.DeleteUnit(c.UserContext(), id, version); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

func registerZoneRoutes(authed fiber.Router, s *org.Service) {
	authed.Post("/projects/:project_id/zones", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		var req createZoneRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		id, err := orgUUIDField("id", req.ID)
		if err != nil {
			return err
		}
		z, isNew, err := s.CreateZone(c.UserContext(), projectID, org.NewZone{ID: id, Code: req.Code, Name: req.Name, Kind: org.ZoneKind(req.Kind)})
		if err != nil {
			return err
		}
		return orgCreated(c, z, isNew)
	})
	authed.Get("/projects/:project_id/zones", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListZones(c.UserContext(), projectID, req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Get("/zones/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		z, err := s.GetZone(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, z)
	})
	authed.Patch("/zones/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		var req updateZoneRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		var kind *org.ZoneKind
		if req.Kind != nil {
			k := org.ZoneKind(*req.Kind)
			kind = &k
		}
		z, err := s.UpdateZone(c.UserContext(), id, org.ZonePatch{Version: req.Version, Code: req.Code, Name: req.Name, Kind: kind})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, z)
	})
	authed.Delete("/zones/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		version, err := orgVersionQuery(c)
		if err != nil {
			return err
		}
		if err := s.DeleteZone(c.UserContext(), id, version); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}
