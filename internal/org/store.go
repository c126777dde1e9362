package org

import (
	"context"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/page"
)

// Lock says how a read inside a transaction locks the row it returns.
type Lock int

// The row locks. ForShare keeps a parent from being deleted while children are added;
// ForUpdate serializes writers of the same record.
const (
	NoLock Lock = iota
	ForShare
	ForUpdate
)

// Store is the persistence the service needs. Reads return only live rows (not soft
// deleted) and apperr.NotFound when there is none. Updates and deletes are
// conditional on the version given and return ErrStale when it no longer matches.
// Inserts return the record as stored; a duplicate id is a Conflict "id-exists", a
// duplicate code or unit number a Conflict "…-exists".
type Store interface {
	InsertProject(ctx context.Context, p *Project) (*Project, error)
	GetProject(ctx context.Context, id uuid.UUID, lock Lock) (*Project, error)
	ListProjects(ctx context.Context, ids []uuid.UUID, req page.Request) (page.Page[Project], error)
	UpdateProject(ctx context.Context, p *Project) (*Project, error)
	DeleteProject(ctx context.Context, id uuid.UUID, version int) error
	// ProjectInUse reports whether the project still has live buildings, unit types or zones.
	ProjectInUse(ctx context.Context, id uuid.UUID) (bool, error)

	InsertBuilding(ctx context.Context, b *Building) (*Building, error)
	GetBuilding(ctx context.Context, id uuid.UUID, lock Lock) (*Building, error)
	ListBuildings(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Building], error)
	// BuildingsOfProject returns every live building of a project, locked as asked.
	BuildingsOfProject(ctx context.Context, projectID uuid.UUID, lock Lock) ([]Building, error)
	UpdateBuilding(ctx context.Context, b *Building) (*Building, error)
	DeleteBuilding(ctx context.Context, id uuid.UUID, version int) error
	// HighestUnitFloor returns the highest floor of the building's live units; ok is
	// false when it has none.
	HighestUnitFloor(ctx context.Context, buildingID uuid.UUID) (floor int, ok bool, err error)

	InsertUnitType(ctx context.Context, t *UnitType) (*UnitType, error)
	GetUnitType(ctx context.Context, id uuid.UUID, lock Lock) (*UnitType, error)
	ListUnitTypes(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[UnitType], error)
	// UnitTypesOfProject returns every live unit type of a project (rooms not loaded).
	UnitTypesOfProject(ctx context.Context, projectID uuid.UUID, lock Lock) ([]UnitType, error)
	// UpdateUnitType writes code and name and makes the stored rooms equal t.Rooms:
	// rooms whose id is kept are updated, the others deleted or inserted.
	UpdateUnitType(ctx context.Context, t *UnitType) (*UnitType, error)
	DeleteUnitType(ctx context.Context, id uuid.UUID, version int) error
	UnitTypeInUse(ctx context.Context, id uuid.UUID) (bool, error)

	InsertUnit(ctx context.Context, u *Unit) (*Unit, error)
	GetUnit(ctx context.Context, id uuid.UUID, lock Lock) (*Unit, error)
	ListUnits(ctx context.Context, f UnitFilter, req page.Request) (page.Page[Unit], error)
	// UnitsOfProject returns every live unit of a project (for the import).
	UnitsOfProject(ctx context.Context, projectID uuid.UUID) ([]Unit, error)
	UpdateUnit(ctx context.Context, u *Unit) (*Unit, error)
	DeleteUnit(ctx context.Context, id uuid.UUID, version int) error
	// InsertUnits writes new units in batches of ImportBatchSize.
	InsertUnits(ctx context.Context, units []Unit) error
	// UpdateUnits writes floor, unit type and handover date of existing units in
	// batches, each conditional on the unit's Version, and raises it by one; ErrStale
	// when any unit changed meanwhile.
	UpdateUnits(ctx context.Context, units []Unit) error

	InsertZone(ctx context.Context, z *Zone) (*Zone, error)
	GetZone(ctx context.Context, id uuid.UUID, lock Lock) (*Zone, error)
	ListZones(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Zone], error)
	UpdateZone(ctx context.Context, z *Zone) (*Zone, error)
	DeleteZone(ctx context.Context, id uuid.UUID, version int) error
}

// Tx runs fn in one transaction (joining one already open in ctx).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// ImportBatchSize is how many units one INSERT or UPDATE of an import writes.
const ImportBatchSize = 500
