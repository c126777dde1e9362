package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/page"
)

type unitTypeRow struct {
	ID                    uuid.UUID `gorm:"primaryKey"`
	ProjectID             uuid.UUID
	Code                  string
	Name                  string
	FloorPlanAttachmentID *uuid.UUID
	Version               int
	CreatedAt             time.Time
	UpdatedAt             time.Time
	DeletedAt             *time.Time
}

func (unitTypeRow) TableName() string { return "unit_types" }

func (r *unitTypeRow) toDomain() org.UnitType {
	return org.UnitType{
		ID: r.ID, ProjectID: r.ProjectID, Code: r.Code, Name: r.Name, FloorPlanAttachmentID: r.FloorPlanAttachmentID,
		Rooms: []org.Room{}, Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type roomRow struct {
	ID         uuid.UUID `gorm:"primaryKey"`
	UnitTypeID uuid.UUID
	Code       string
	Name       string
	Position   int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (roomRow) TableName() string { return "unit_type_rooms" }

func roomRows(t *org.UnitType) []roomRow {
	rows := make([]roomRow, len(t.Rooms))
	for i, r := range t.Rooms {
		rows[i] = roomRow{ID: r.ID, UnitTypeID: t.ID, Code: r.Code, Name: r.Name, Position: r.Position}
	}
	return rows
}

// loadRooms fills the rooms of types, in position order.
func (s *OrgStore) loadRooms(ctx context.Context, types []org.UnitType) error {
	if len(types) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(types))
	at := make(map[uuid.UUID]int, len(types))
	for i, t := range types {
		ids[i] = t.ID
		at[t.ID] = i
	}
	var rows []roomRow
	if err := s.db.Gorm(ctx).Where("unit_type_id IN ?", ids).Order("unit_type_id, position").Find(&rows).Error; err != nil {
		return Translate(err)
	}
	for _, r := range rows {
		t := &types[at[r.UnitTypeID]]
		t.Rooms = append(t.Rooms, org.Room{ID: r.ID, Code: r.Code, Name: r.Name, Position: r.Position})
	}
	return nil
}

func (s *OrgStore) withRooms(ctx context.Context, t org.UnitType) (*org.UnitType, error) {
	one := []org.UnitType{t}
	if err := s.loadRooms(ctx, one); err != nil {
		return nil, err
	}
	return &one[0], nil
}

// InsertUnitType implements org.Store.
func (s *OrgStore) InsertUnitType(ctx context.Context, t *org.UnitType) (*org.UnitType, error) {
	row := unitTypeRow{ID: t.ID, ProjectID: t.ProjectID, Code: t.Code, Name: t.Name, FloorPlanAttachmentID: t.FloorPlanAttachmentID, Version: 1}
	out, err := insertRow(ctx, s.db, &row, (*unitTypeRow).toDomain, "unit type")
	if err != nil {
		return nil, err
	}
	if rooms := roomRows(t); len(rooms) > 0 {
		if err := s.db.Gorm(ctx).Create(&rooms).Error; err != nil {
			return nil, orgError(err, "room")
		}
	}
	return s.withRooms(ctx, *out)
}

// GetUnitType implements org.Store.
func (s *OrgStore) GetUnitType(ctx context.Context, id uuid.UUID, lock org.Lock) (*org.UnitType, error) {
	t, err := getLive(ctx, s.db, id, lock, (*unitTypeRow).toDomain, "unit type")
	if err != nil {
		return nil, err
	}
	return s.withRooms(ctx, *t)
}

// ListUnitTypes implements org.Store.
func (s *OrgStore) ListUnitTypes(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[org.UnitType], error) {
	q := s.db.Gorm(ctx).Model(&unitTypeRow{}).Where("project_id = ?", projectID)
	p, err := listPage(q, req, (*unitTypeRow).toDomain, func(t org.UnitType) uuid.UUID { return t.ID })
	if err != nil {
		return p, err
	}
	return p, s.loadRooms(ctx, p.Items)
}

// UnitTypesOfProject implements org.Store.
func (s *OrgStore) UnitTypesOfProject(ctx context.Context, projectID uuid.UUID, lock org.Lock) ([]org.UnitType, error) {
	return liveOfProject(ctx, s.db, projectID, lock, (*unitTypeRow).toDomain)
}

// UpdateUnitType implements org.Store. Rooms not in t.Rooms are deleted first, so a
// code freed by one room may be taken by another in the same update.
func (s *OrgStore) UpdateUnitType(ctx context.Context, t *org.UnitType) (*org.UnitType, error) {
	out, err := updateLive(ctx, s.db, t.ID, t.Version, map[string]any{"code": t.Code, "name": t.Name}, (*unitTypeRow).toDomain, "unit type")
	if err != nil {
		return nil, err
	}
	rooms := roomRows(t)
	keep := make([]uuid.UUID, len(rooms))
	for i, r := range rooms {
		keep[i] = r.ID
	}
	del := s.db.Gorm(ctx).Where("unit_type_id = ?", t.ID)
	if len(keep) > 0 {
		del = del.Where("id NOT IN ?", keep)
	}
	if err := del.Delete(&roomRow{}).Error; err != nil {
		return nil, Translate(err)
	}
	if len(rooms) > 0 {
		err := s.db.Gorm(ctx).Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "id"}},
			DoUpdates: clause.AssignmentColumns([]string{"code", "name", "position"}),
		}).Create(&rooms).Error
		if err != nil {
			return nil, orgError(err, "room")
		}
	}
	return s.withRooms(ctx, *out)
}

// DeleteUnitType implements org.Store. Its rooms stay (they go with the row only on a
// hard delete), so records pointing at them keep resolving.
func (s *OrgStore) DeleteUnitType(ctx context.Context, id uuid.UUID, version int) error {
	return softDelete(ctx, s.db, "unit_types", id, version)
}

// UnitTypeInUse implements org.Store.
func (s *OrgStore) UnitTypeInUse(ctx context.Context, id uuid.UUID) (bool, error) {
	return exists(ctx, s.db, `SELECT EXISTS (SELECT 1 FROM units WHERE unit_type_id = ? AND deleted_at IS NULL)`, id)
}
