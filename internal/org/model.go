// Package org is the organization model: projects (sites), their buildings, unit
// types with rooms, units, and zones, plus the bulk import of units from CSV.
package org

import (
	"time"

	"github.com/google/uuid"
)

// Project is one site of the organization; membership and roles are per project.
type Project struct {
	ID             uuid.UUID `json:"id"`
	OrganizationID uuid.UUID `json:"organization_id"`
	Code           string    `json:"code"`
	Name           string    `json:"name"`
	City           string    `json:"city"`
	Timezone       string    `json:"timezone"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// Building is one building of a project.
type Building struct {
	ID        uuid.UUID `json:"id"`
	ProjectID uuid.UUID `json:"project_id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Floors    int       `json:"floors"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// UnitType is a floor plan shared by units, with its rooms in walking order.
type UnitType struct {
	ID                    uuid.UUID  `json:"id"`
	ProjectID             uuid.UUID  `json:"project_id"`
	Code                  string     `json:"code"`
	Name                  string     `json:"name"`
	FloorPlanAttachmentID *uuid.UUID `json:"floor_plan_attachment_id"`
	Rooms                 []Room     `json:"rooms"`
	Version               int        `json:"version"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
}

// Room is one room of a unit type. Its id stays the same while its code does, so
// checklists and defects can point at it across edits of the unit type.
type Room struct {
	ID       uuid.UUID `json:"id"`
	Code     string    `json:"code"`
	Name     string    `json:"name"`
	Position int       `json:"position"`
}

// Unit is one home (or shop) in a building.
type Unit struct {
	ID           uuid.UUID  `json:"id"`
	ProjectID    uuid.UUID  `json:"project_id"`
	BuildingID   uuid.UUID  `json:"building_id"`
	UnitTypeID   *uuid.UUID `json:"unit_type_id"`
	Number       string     `json:"number"`
	Floor        int        `json:"floor"`
	HandoverDate *string    `json:"handover_date"` // YYYY-MM-DD
	Version      int        `json:"version"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Zone is an area of the site: where guards patrol, the sales site, common areas.
type Zone struct {
	ID        uuid.UUID `json:"id"`
	ProjectID uuid.UUID `json:"project_id"`
	Code      string    `json:"code"`
	Name      string    `json:"name"`
	Kind      ZoneKind  `json:"kind"`
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ZoneKind says what a zone is used for.
type ZoneKind string

// The zone kinds.
const (
	ZoneSite      ZoneKind = "site"
	ZoneSales     ZoneKind = "sales"
	ZoneCommon    ZoneKind = "common"
	ZoneParking   ZoneKind = "parking"
	ZonePerimeter ZoneKind = "perimeter"
	ZoneOther     ZoneKind = "other"
)

// ZoneKinds lists every zone kind.
var ZoneKinds = []ZoneKind{ZoneSite, ZoneSales, ZoneCommon, ZoneParking, ZonePerimeter, ZoneOther}

// Inputs of the service. Create inputs take an optional client-chosen ID; patches
// carry the version they were based on and only the fields to change.

// NewProject is a project to create.
type NewProject struct {
	ID       *uuid.UUID
	Code     string
	Name     string
	City     string
	Timezone string // empty: Asia/Shanghai
}

// ProjectPatch changes a project.
type ProjectPatch struct {
	Version  int
	Code     *string
	Name     *string
	City     *string
	Timezone *string
}

// NewBuilding is a building to create in a project.
type NewBuilding struct {
	ID     *uuid.UUID
	Code   string
	Name   string
	Floors int
}

// BuildingPatch changes a building.
type BuildingPatch struct {
	Version int
	Code    *string
	Name    *string
	Floors  *int
}

// RoomInput is one room of a unit type as the client gives it.
type RoomInput struct {
	Code string
	Name string
}

// NewUnitType is a unit type to create in a project.
type NewUnitType struct {
	ID    *uuid.UUID
	Code  string
	Name  string
	Rooms []RoomInput
}

// UnitTypePatch changes a unit type; Rooms, when given, replaces the whole list.
type UnitTypePatch struct {
	Version int
	Code    *string
	Name    *string
	Rooms   []RoomInput // nil: unchanged
}

// NewUnit is a unit to create in a building.
type NewUnit struct {
	ID           *uuid.UUID
	Number       string
	Floor        int
	UnitTypeID   *uuid.UUID
	HandoverDate *string
}

// UnitPatch changes a unit. The nullable fields use Optional so that "set to null"
// differs from "leave alone".
type UnitPatch struct {
	Version      int
	Number       *string
	Floor        *int
	UnitTypeID   Optional[uuid.UUID]
	HandoverDate Optional[string]
}

// Optional is a PATCH field that may be absent, null, or a value.
type Optional[T any] struct {
	Set   bool // the request named the field
	Value *T   // nil: set to null
}

// Some is an Optional holding v.
func Some[T any](v T) Optional[T] { return Optional[T]{Set: true, Value: &v} }

// Null is an Optional set to null.
func Null[T any]() Optional[T] { return Optional[T]{Set: true} }

// NewZone is a zone to create in a project.
type NewZone struct {
	ID   *uuid.UUID
	Code string
	Name string
	Kind ZoneKind
}

// ZonePatch changes a zone.
type ZonePatch struct {
	Version int
	Code    *string
	Name    *string
	Kind    *ZoneKind
}

// UnitFilter narrows a list of a project's units.
type UnitFilter struct {
	ProjectID  uuid.UUID
	BuildingID *uuid.UUID
	Floor      *int
}

// ImportResult counts what a unit import did.
type ImportResult struct {
	Created   int `json:"created"`
	Updated   int `json:"updated"`
	Unchanged int `json:"unchanged"`
}
