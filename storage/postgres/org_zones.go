package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/page"
)

type zoneRow struct {
	ID        uuid.UUID `gorm:"primaryKey"`
	ProjectID uuid.UUID
	Code      string
	Name      string
	Kind      string
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
	DeletedAt *time.Time
}

func (zoneRow) TableName() string { return "zones" }

func (r *zoneRow) toDomain() org.Zone {
	return org.Zone{
		ID: r.ID, ProjectID: r.ProjectID, Code: r.Code, Name: r.Name, Kind: org.ZoneKind(r.Kind),
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func zoneID(z org.Zone) uuid.UUID { return z.ID }

// InsertZone implements org.Store.
func (s *OrgStore) InsertZone(ctx context.Context, z *org.Zone) (*org.Zone, error) {
	row := zoneRow{ID: z.ID, ProjectID: z.ProjectID, Code: z.Code, Name: z.Name, Kind: string(z.Kind), Version: 1}
	return insertRow(ctx, s.db, &row, (*zoneRow).toDomain, "zone")
}

// GetZone implements org.Store.
func (s *OrgStore) GetZone(ctx context.Context, id uuid.UUID, lock org.Lock) (*org.Zone, error) {
	return getLive(ctx, s.db, id, lock, (*zoneRow).toDomain, "zone")
}

// ListZones implements org.Store.
func (s *OrgStore) ListZones(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[org.Zone], error) {
	q := s.db.Gorm(ctx).Model(&zoneRow{}).Where("project_id = ?", projectID)
	return listPage(q, req, (*zoneRow).toDomain, zoneID)
}

// UpdateZone implements org.Store.
func (s *OrgStore) UpdateZone(ctx context.Context, z *org.Zone) (*org.Zone, error) {
	return updateLive(ctx, s.db, z.ID, z.Version, map[string]any{
		"code": z.Code, "name": z.Name, "kind": string(z.Kind),
	}, (*zoneRow).toDomain, "zone")
}

// DeleteZone implements org.Store.
func (s *OrgStore) DeleteZone(ctx context.Context, id uuid.UUID, version int) error {
	return softDelete(ctx, s.db, "zones", id, version)
}
