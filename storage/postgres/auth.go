package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/authz"
)

// AuthStore implements auth.Store: users, memberships, refresh tokens and the login
// rate counters. Users and memberships are in users.go.
type AuthStore struct {
	*RateLimits
	db *DB
}

var _ auth.Store = (*AuthStore)(nil)

// NewAuthStore returns the auth repository on db.
func NewAuthStore(db *DB) *AuthStore { return &AuthStore{RateLimits: NewRateLimits(db), db: db} }

type refreshTokenRow struct {
	ID        uuid.UUID  `gorm:"column:id;primaryKey"`
	FamilyID  uuid.UUID  `gorm:"column:family_id"`
	ParentID  *uuid.UUID `gorm:"column:parent_id"`
	UserID    uuid.UUID  `gorm:"column:user_id"`
	DeviceID  string     `gorm:"column:device_id"`
	TokenHash []byte     `gorm:"column:token_hash"`
	ExpiresAt time.Time  `gorm:"column:expires_at"`
	RotatedAt *time.Time `gorm:"column:rotated_at"`
	RevokedAt *time.Time `gorm:"column:revoked_at"`
	CreatedAt time.Time  `gorm:"column:created_at"`
	UpdatedAt time.Time  `gorm:"column:updated_at"`
}

func (refreshTokenRow) TableName() string { return "refresh_tokens" }

func (r *refreshTokenRow) toDomain() auth.RefreshToken {
	return auth.RefreshToken{ID: r.ID, FamilyID: r.FamilyID, ParentID: r.ParentID, UserID: r.UserID, DeviceID: r.DeviceID,
		Hash: r.TokenHash, ExpiresAt: r.ExpiresAt.UTC(), RotatedAt: authUTC(r.RotatedAt), RevokedAt: authUTC(r.RevokedAt),
		CreatedAt: r.CreatedAt.UTC()}
}

func authUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// InsertRefreshToken implements auth.Store.
func (s *AuthStore) InsertRefreshToken(ctx context.Context, t *auth.RefreshToken) error {
	row := refreshTokenRow{ID: t.ID, FamilyID: t.FamilyID, ParentID: t.ParentID, UserID: t.UserID, DeviceID: t.DeviceID,
		TokenHash: t.Hash, ExpiresAt: t.ExpiresAt}
	if err := s.db.Gorm(ctx).Create(&row).Error; err != nil {
		return Translate(err)
	}
	t.CreatedAt = row.CreatedAt.UTC()
	return nil
}

// LockRefreshToken implements auth.Store.
func (s *AuthStore) LockRefreshToken(ctx context.Context, hash []byte) (*auth.RefreshToken, error) {
	var row refreshTokenRow
	err := s.db.Gorm(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("token_hash = ?", hash).Take(&row).Error
	if IsNoRows(err) {
		return nil, apperr.NotFound("refresh token")
	}
	if err != nil {
		return nil, Translate(err)
	}
	t := row.toDomain()
	return &t, nil
}

// LockRefreshChildren implements auth.Store.
func (s *AuthStore) LockRefreshChildren(ctx context.Context, parentID uuid.UUID) ([]auth.RefreshToken, error) {
	var rows []refreshTokenRow
	err := s.db.Gorm(ctx).Clauses(clause.Locking{Strength: "UPDATE"}).Where("parent_id = ?", parentID).Order("id").Find(&rows).Error
	if err != nil {
		return nil, Translate(err)
	}
	out := make([]auth.RefreshToken, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// MarkRefreshTokenRotated implements auth.Store.
func (s *AuthStore) MarkRefreshTokenRotated(ctx context.Context, id uuid.UUID, at time.Time) error {
	return Translate(s.db.Gorm(ctx).Exec(`UPDATE refresh_tokens SET rotated_at = ? WHERE id = ?`, at, id).Error)
}

// RevokeRefreshTokens implements auth.Store.
func (s *AuthStore) RevokeRefreshTokens(ctx context.Context, ids []uuid.UUID, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	return Translate(s.db.Gorm(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = ? WHERE id IN ? AND revoked_at IS NULL`, at, ids).Error)
}

// RevokeRefreshFamily implements auth.Store.
func (s *AuthStore) RevokeRefreshFamily(ctx context.Context, familyID uuid.UUID, at time.Time) error {
	return Translate(s.db.Gorm(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL`, at, familyID).Error)
}

// RevokeRefreshFamilyByHash implements auth.Store.
func (s *AuthStore) RevokeRefreshFamilyByHash(ctx context.Context, hash []byte, at time.Time) error {
	return Translate(s.db.Gorm(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = ?
WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = ?) AND revoked_at IS NULL`, at, hash).Error)
}

// RevokeUserRefreshTokens implements auth.Store.
func (s *AuthStore) RevokeUserRefreshTokens(ctx context.Context, userID uuid.UUID, at time.Time) error {
	return Translate(s.db.Gorm(ctx).Exec(`UPDATE refresh_tokens SET revoked_at = ?
WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`, at, userID, at).Error)
}

type accessRow struct {
	UserID         uuid.UUID
	OrganizationID uuid.UUID
	OrgAdmin       bool
	Disabled       bool
	ProjectID      uuid.NullUUID
	Role           *string
}

// accessSQL loads a user with every (project, role) they hold, in one round trip:
// memberships in live projects of their organization, plus admin in every live project
// of the organization for an organization admin. It runs on every request, so it is
// plain SQL scanned by hand.
const accessSQL = `
SELECT u.id AS user_id, u.organization_id, u.org_admin, u.disabled_at IS NOT NULL AS disabled, g.project_id, g.role
FROM users u
LEFT JOIN LATERAL (
  SELECT m.project_id, m.role
  FROM project_members m JOIN projects p ON p.id = m.project_id
  WHERE m.user_id = u.id AND p.organization_id = u.organization_id AND p.deleted_at IS NULL
  UNION ALL
  SELECT p.id, 'admin'
  FROM projects p
  WHERE u.org_admin AND p.organization_id = u.organization_id AND p.deleted_at IS NULL
) g ON true
WHERE u.id = $1 AND u.deleted_at IS NULL`

// Access implements auth.Store.
func (s *AuthStore) Access(ctx context.Context, userID uuid.UUID) (*auth.Access, error) {
	rs, err := s.db.query(ctx, accessSQL, userID)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var rows []accessRow
	for rs.Next() {
		var r accessRow
		if err := rs.Scan(&r.UserID, &r.OrganizationID, &r.OrgAdmin, &r.Disabled, &r.ProjectID, &r.Role); err != nil {
			return nil, Translate(err)
		}
		rows = append(rows, r)
	}
	if err := rs.Err(); err != nil {
		return nil, Translate(err)
	}
	if len(rows) == 0 {
		return nil, apperr.NotFound("user")
	}
	acc := &auth.Access{UserID: rows[0].UserID, OrganizationID: rows[0].OrganizationID, OrgAdmin: rows[0].OrgAdmin,
		Disabled: rows[0].Disabled, Grants: make([]auth.Grant, 0, len(rows))}
	for _, r := range rows {
		if r.ProjectID.Valid && r.Role != nil {
			acc.Grants = append(acc.Grants, auth.Grant{ProjectID: r.ProjectID.UUID, Role: authz.Role(*r.Role)})
		}
	}
	return acc, nil
}
