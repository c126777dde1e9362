package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/page"
)

type buildingRow struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	ProjectID uuid.UUID
	Code      string
	Name      string
	Floors    int
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
}

func (buildingRow) TableName() string { return "buildings" }

func (r *buildingRow) toDomain() org.Building {
	return org.Building{
		ID: r.ID, ProjectID: r.ProjectID, Code: r.Code, Name: r.Name, Floors: r.Floors,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func buildingID(b org.Building) uuid.UUID { return b.ID }

// InsertBuilding implements org.Store.
func (s *OrgStore) InsertBuilding(ctx context.Context, b *org.Building) (*org.Building, error) {
	row := buildingRow{ID: b.ID, ProjectID: b.ProjectID, Code: b.Code, Name: b.Name, Floors: b.Floors, Version: 1}
	return insertRow(ctx, s.db, &row, (*buildingRow).toDomain, "building")
}

// GetBuilding implements org.Store.
func (s *OrgStore) GetBuilding(ctx context.Context, id uuid.UUID, lock org.Lock) (*org.Building, error) {
	return getLive(ctx, s.db, id, lock, (*buildingRow).toDomain, "building")
}

// ListBuildings implements org.Store.
func (s *OrgStore) ListBuildings(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[org.Building], error) {
	q := s.db.Gorm(ctx).Model(&buildingRow{}).Where("project_id = ?", projectID)
	return listPage(q, req, (*buildingRow).toDomain, buildingID)
}

// BuildingsOfProject implements org.Store.
func (s *OrgStore) BuildingsOfProject(ctx context.Context, projectID uuid.UUID, lock org.Lock) ([]org.Building, error) {
	return liveOfProject(ctx, s.db, projectID, lock, (*buildingRow).toDomain)
}

// UpdateBuilding implements org.Store.
func (s *OrgStore) UpdateBuilding(ctx context.Context, b *org.Building) (*org.Building, error) {
	return updateLive(ctx, s.db, b.ID, b.Version, map[string]any{
		"code": b.Code, "name": b.Name, "floors": b.Floors,
	}, (*buildingRow).toDomain, "building")
}

// DeleteBuilding implements org.Store.
func (s *OrgStore) DeleteBuilding(ctx context.Context, id uuid.UUID, version int) error {
	return softDelete(ctx, s.db, "buildings", id, version)
}

// HighestUnitFloor implements org.Store.
func (s *OrgStore) HighestUnitFloor(ctx context.Context, buildingID uuid.UUID) (int, bool, error) {
	var top *int
	err := s.db.Gorm(ctx).Raw(`SELECT max(floor) FROM units WHERE building_id = ? AND deleted_at IS NULL`, buildingID).Scan(&top).Error
	if err != nil {
		return 0, false, Translate(err)
	}
	if top == nil {
		return 0, false, nil
	}
	return *top, true, nil
}
