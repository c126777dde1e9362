package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/org"
	"github.com/fieldops/fieldops/internal/page"
)

// OrgStore is the repository of the organization model: projects, buildings, unit
// types and their rooms, units, zones.
type OrgStore struct {
	db *DB
}

// NewOrgStore returns the organization repository over db.
func NewOrgStore(db *DB) *OrgStore { return &OrgStore{db: db} }

var _ org.Store = (*OrgStore)(nil)

// orgError translates a database error of the organization tables.
func orgError(err error, what string) error {
	if err == nil {
		return nil
	}
	if IsNoRows(err) {
		return apperr.NotFound(what)
	}
	if name, ok := IsUniqueViolation(err); ok {
		switch {
		case strings.HasSuffix(name, "_pkey"):
			return apperr.Conflict("id-exists", "a record with this id already exists", nil)
		case name == "projects_code_key":
			return apperr.Conflict("project-exists", "a project with this code already exists in the organization", nil)
		case name == "buildings_code_key":
			return apperr.Conflict("building-exists", "a building with this code already exists in the project", nil)
		case name == "unit_types_code_key":
			return apperr.Conflict("unit-type-exists", "a unit type with this code already exists in the project", nil)
		case name == "units_number_key":
			return apperr.Conflict("unit-exists", "a unit with this number already exists in the building", nil)
		case name == "zones_code_key":
			return apperr.Conflict("zone-exists", "a zone with this code already exists in the project", nil)
		}
	}
	return Translate(err)
}

// withLock adds FOR SHARE / FOR UPDATE to a select.
func withLock(q *gorm.DB, lock org.Lock) *gorm.DB {
	switch lock {
	case org.ForShare:
		return q.Clauses(clause.Locking{Strength: clause.LockingStrengthShare})
	case org.ForUpdate:
		return q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	return q
}

// insertRow inserts row and returns the record as stored.
func insertRow[R, T any](ctx context.Context, db *DB, row *R, toDomain func(*R) T, what string) (*T, error) {
	if err := db.Gorm(ctx).Clauses(clause.Returning{}).Create(row).Error; err != nil {
		return nil, orgError(err, what)
	}
	out := toDomain(row)
	return &out, nil
}

// getLive reads the live row with id.
func getLive[R, T any](ctx context.Context, db *DB, id uuid.UUID, lock org.Lock, toDomain func(*R) T, what string) (*T, error) {
	var row R
	err := withLock(db.Gorm(ctx), lock).Where("id = ? AND deleted_at IS NULL", id).Take(&row).Error
	if err != nil {
		return nil, orgError(err, what)
	}
	out := toDomain(&row)
	return &out, nil
}

// listPage reads one keyset page of q's live rows.
func listPage[R, T any](q *gorm.DB, req page.Request, toDomain func(*R) T, id func(T) uuid.UUID) (page.Page[T], error) {
	q = q.Where("deleted_at IS NULL")
	if req.After != uuid.Nil {
		q = q.Where("id > ?", req.After)
	}
	var rows []R
	if err := q.Order("id").Limit(req.Limit + 1).Find(&rows).Error; err != nil {
		return page.Page[T]{}, Translate(err)
	}
	return page.Build(convertRows(rows, toDomain), req.Limit, id), nil
}

// liveOfProject reads every live row of a project in id order, locked as asked.
func liveOfProject[R, T any](ctx context.Context, db *DB, projectID uuid.UUID, lock org.Lock, toDomain func(*R) T) ([]T, error) {
	var rows []R
	err := withLock(db.Gorm(ctx), lock).Where("project_id = ? AND deleted_at IS NULL", projectID).Order("id").Find(&rows).Error
	if err != nil {
		return nil, Translate(err)
	}
	return convertRows(rows, toDomain), nil
}

func convertRows[R, T any](rows []R, toDomain func(*R) T) []T {
	out := make([]T, len(rows))
	for i := range rows {
		out[i] = toDomain(&rows[i])
	}
	return out
}

// updateLive writes fields to the live row with id and version, raising the version,
// and returns the record as stored; org.ErrStale when no such row.
func updateLive[R, T any](ctx context.Context, db *DB, id uuid.UUID, version int, fields map[string]any, toDomain func(*R) T, what string) (*T, error) {
	var row R
	fields["version"] = gorm.Expr("version + 1")
	res := db.Gorm(ctx).Model(&row).Clauses(clause.Returning{}).
		Where("id = ? AND version = ? AND deleted_at IS NULL", id, version).
		Updates(fields)
	if res.Error != nil {
		return nil, orgError(res.Error, what)
	}
	if res.RowsAffected == 0 {
		return nil, org.ErrStale
	}
	out := toDomain(&row)
	return &out, nil
}

// softDelete marks the row deleted and raises its version; org.ErrStale when the
// version differs or the row is gone.
func softDelete(ctx context.Context, db *DB, table string, id uuid.UUID, version int) error {
	res := db.Gorm(ctx).Exec(fmt.Sprintf(`UPDATE %s SET deleted_at = now(), version = version + 1
		WHERE id = ? AND version = ? AND deleted_at IS NULL`, table), id, version)
	if res.Error != nil {
		return Translate(res.Error)
	}
	if res.RowsAffected == 0 {
		return org.ErrStale
	}
	return nil
}

func exists(ctx context.Context, db *DB, query string, args ...any) (bool, error) {
	var ok bool
	if err := db.Gorm(ctx).Raw(query, args...).Scan(&ok).Error; err != nil {
		return false, Translate(err)
	}
	return ok, nil
}

// ---- projects

type projectRow struct {
	ID             uuid.UUID `gorm:"primaryKey"`
	OrganizationID uuid.UUID
	Code           string
	Name           string
	City           string
	Timezone       string
	Version        int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time
}

func (projectRow) TableName() string { return "projects" }

func (r *projectRow) toDomain() org.Project {
	return org.Project{
		ID: r.ID, OrganizationID: r.OrganizationID, Code: r.Code, Name: r.Name, City: r.City, Timezone: r.Timezone,
		Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

func projectID(p org.Project) uuid.UUID { return p.ID }

// InsertProject implements org.Store.
func (s *OrgStore) InsertProject(ctx context.Context, p *org.Project) (*org.Project, error) {
	row := projectRow{ID: p.ID, OrganizationID: p.OrganizationID, Code: p.Code, Name: p.Name, City: p.City, Timezone: p.Timezone, Version: 1}
	return insertRow(ctx, s.db, &row, (*projectRow).toDomain, "project")
}

// GetProject implements org.Store.
func (s *OrgStore) GetProject(ctx context.Context, id uuid.UUID, lock org.Lock) (*org.Project, error) {
	return getLive(ctx, s.db, id, lock, (*projectRow).toDomain, "project")
}

// ListProjects implements org.Store.
func (s *OrgStore) ListProjects(ctx context.Context, ids []uuid.UUID, req page.Request) (page.Page[org.Project], error) {
	q := s.db.Gorm(ctx).Model(&projectRow{}).Where("id IN ?", ids)
	return listPage(q, req, (*projectRow).toDomain, projectID)
}

// UpdateProject implements org.Store.
func (s *OrgStore) UpdateProject(ctx context.Context, p *org.Project) (*org.Project, error) {
	return updateLive(ctx, s.db, p.ID, p.Version, map[string]any{
		"code": p.Code, "name": p.Name, "city": p.City, "timezone": p.Timezone,
	}, (*projectRow).toDomain, "project")
}

// DeleteProject implements org.Store.
func (s *OrgStore) DeleteProject(ctx context.Context, id uuid.UUID, version int) error {
	return softDelete(ctx, s.db, "projects", id, version)
}

// ProjectInUse implements org.Store.
func (s *OrgStore) ProjectInUse(ctx context.Context, id uuid.UUID) (bool, error) {
	return exists(ctx, s.db, `SELECT EXISTS (SELECT 1 FROM buildings WHERE project_id = @id AND deleted_at IS NULL)
		OR EXISTS (SELECT 1 FROM unit_types WHERE project_id = @id AND deleted_at IS NULL)
		OR EXISTS (SELECT 1 FROM zones WHERE project_id = @id AND deleted_at IS NULL)`, map[string]any{"id": id})
}
