package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm/clause"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

type userRow struct {
	ID             uuid.UUID  `gorm:"column:id;primaryKey"`
	OrganizationID uuid.UUID  `gorm:"column:organization_id"`
	DisplayName    string     `gorm:"column:display_name"`
	Username       *string    `gorm:"column:username"`
	Phone          *string    `gorm:"column:phone"`
	PasswordHash   string     `gorm:"column:password_hash"`
	OrgAdmin       bool       `gorm:"column:org_admin"`
	Locale         string     `gorm:"column:locale"`
	DisabledAt     *time.Time `gorm:"column:disabled_at"`
	CreatedAt      time.Time  `gorm:"column:created_at"`
	UpdatedAt      time.Time  `gorm:"column:updated_at"`
	Version        int        `gorm:"column:version"`
	DeletedAt      *time.Time `gorm:"column:deleted_at"`
}

func (userRow) TableName() string { return "users" }

func (r *userRow) toDomain() auth.User {
	return auth.User{ID: r.ID, OrganizationID: r.OrganizationID, DisplayName: r.DisplayName, Username: authString(r.Username),
		Phone: authString(r.Phone), OrgAdmin: r.OrgAdmin, Locale: r.Locale, Disabled: r.DisabledAt != nil,
		DisabledAt: authUTC(r.DisabledAt), Version: r.Version, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func toUserRow(u *auth.User, passwordHash string) userRow {
	return userRow{ID: u.ID, OrganizationID: u.OrganizationID, DisplayName: u.DisplayName, Username: authNullString(u.Username),
		Phone: authNullString(u.Phone), PasswordHash: passwordHash, OrgAdmin: u.OrgAdmin, Locale: u.Locale,
		DisabledAt: u.DisabledAt, Version: u.Version}
}

func authString(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func authNullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// userTaken turns a unique violation on users into the domain's conflict.
func userTaken(err error) error {
	name, ok := IsUniqueViolation(err)
	switch {
	case !ok:
		return Translate(err)
	case name == "users_username_key":
		return apperr.Conflict("user-exists", "a user with this username already exists", nil)
	case name == "users_phone_key":
		return apperr.Conflict("user-exists", "a user with this phone number already exists", nil)
	case name == "users_pkey":
		return apperr.Conflict("id-exists", "another record already has this id", nil)
	}
	return Translate(err)
}

func (s *AuthStore) credentials(ctx context.Context, column, value string) (*auth.Credentials, error) {
	var row userRow
	err := s.db.Gorm(ctx).Where(column+" = ? AND deleted_at IS NULL", value).Take(&row).Error
	if IsNoRows(err) {
		return nil, apperr.NotFound("user")
	}
	if err != nil {
		return nil, Translate(err)
	}
	return &auth.Credentials{User: row.toDomain(), PasswordHash: row.PasswordHash}, nil
}

// CredentialsByUsername implements auth.Store (username is citext: case-insensitive).
func (s *AuthStore) CredentialsByUsername(ctx context.Context, username string) (*auth.Credentials, error) {
	return s.credentials(ctx, "username", username)
}

// CredentialsByPhone implements auth.Store.
func (s *AuthStore) CredentialsByPhone(ctx context.Context, phone string) (*auth.Credentials, error) {
	return s.credentials(ctx, "phone", phone)
}

// UserByID implements auth.Store. The lock is FOR NO KEY UPDATE: it serialises changes
// to the user without blocking inserts that reference the row (logins, memberships).
func (s *AuthStore) UserByID(ctx context.Context, id uuid.UUID, forUpdate bool) (*auth.User, error) {
	q := s.db.Gorm(ctx)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: "NO KEY UPDATE"})
	}
	var row userRow
	err := q.Where("id = ? AND deleted_at IS NULL", id).Take(&row).Error
	if IsNoRows(err) {
		return nil, apperr.NotFound("user")
	}
	if err != nil {
		return nil, Translate(err)
	}
	u := row.toDomain()
	return &u, nil
}

type profileRow struct {
	User     userRow `gorm:"embedded"`
	OrgName  string  `gorm:"column:org_name"`
	Projects string  `gorm:"column:projects"`
}

// profileSQL takes the project ids as one uuid[] parameter, so its text (and prepared
// statement) is the same whatever the number of projects.
const profileSQL = `
SELECT u.*, o.name AS org_name,
  COALESCE((SELECT json_agg(json_build_object('id', p.id, 'organization_id', p.organization_id, 'code', p.code, 'name', p.name))
            FROM projects p WHERE p.id = ANY(?::uuid[]) AND p.deleted_at IS NULL), '[]') AS projects
FROM users u JOIN organizations o ON o.id = u.organization_id
WHERE u.id = ? AND u.deleted_at IS NULL`

// Profile implements auth.Store.
func (s *AuthStore) Profile(ctx context.Context, userID uuid.UUID, projectIDs []uuid.UUID) (*auth.User, *auth.Organization, []auth.Project, error) {
	ids := make([]string, len(projectIDs))
	for i, id := range projectIDs {
		ids[i] = id.String()
	}
	var rows []profileRow
	err := s.db.Gorm(ctx).Raw(profileSQL, "{"+strings.Join(ids, ",")+"}", userID).Scan(&rows).Error
	if err != nil {
		return nil, nil, nil, Translate(err)
	}
	if len(rows) == 0 {
		return nil, nil, nil, apperr.NotFound("user")
	}
	var projects []struct {
		ID             uuid.UUID `json:"id"`
		OrganizationID uuid.UUID `json:"organization_id"`
		Code           string    `json:"code"`
		Name           string    `json:"name"`
	}
	if err := json.Unmarshal([]byte(rows[0].Projects), &projects); err != nil {
		return nil, nil, nil, fmt.Errorf("profile projects: %w", err)
	}
	out := make([]auth.Project, len(projects))
	for i, p := range projects {
		out[i] = auth.Project{ID: p.ID, OrganizationID: p.OrganizationID, Code: p.Code, Name: p.Name}
	}
	u := rows[0].User.toDomain()
	return &u, &auth.Organization{ID: u.OrganizationID, Name: rows[0].OrgName}, out, nil
}

// CreateUser implements auth.Store.
func (s *AuthStore) CreateUser(ctx context.Context, u *auth.User, passwordHash string) error {
	row := toUserRow(u, passwordHash)
	if err := s.db.Gorm(ctx).Create(&row).Error; err != nil {
		return userTaken(err)
	}
	*u = row.toDomain()
	return nil
}

// UpdateUser implements auth.Store.
func (s *AuthStore) UpdateUser(ctx context.Context, u *auth.User, passwordHash string) (*auth.User, error) {
	var rows []userRow
	res := s.db.Gorm(ctx).Raw(`UPDATE users
SET display_name = ?, phone = ?, locale = ?, disabled_at = ?, password_hash = COALESCE(?, password_hash), version = version + 1
WHERE id = ? AND organization_id = ? AND version = ? AND deleted_at IS NULL
RETURNING *`, u.DisplayName, authNullString(u.Phone), u.Locale, u.DisabledAt, authNullString(passwordHash),
		u.ID, u.OrganizationID, u.Version).Scan(&rows)
	if res.Error != nil {
		return nil, userTaken(res.Error)
	}
	if len(rows) == 0 {
		return nil, apperr.NotFound("user")
	}
	out := rows[0].toDomain()
	return &out, nil
}

// ListUsers implements auth.Store.
func (s *AuthStore) ListUsers(ctx context.Context, orgID uuid.UUID, req page.Request) (page.Page[auth.User], error) {
	var rows []userRow
	err := s.db.Gorm(ctx).Where("organization_id = ? AND deleted_at IS NULL AND id > ?", orgID, req.After).
		Order("id").Limit(req.Limit + 1).Find(&rows).Error
	if err != nil {
		return page.Page[auth.User]{}, Translate(err)
	}
	users := make([]auth.User, len(rows))
	for i := range rows {
		users[i] = rows[i].toDomain()
	}
	return page.Build(users, req.Limit, func(u auth.User) uuid.UUID { return u.ID }), nil
}

type projectRefRow struct {
	ID             uuid.UUID `gorm:"column:id"`
	OrganizationID uuid.UUID `gorm:"column:organization_id"`
	Code           string    `gorm:"column:code"`
	Name           string    `gorm:"column:name"`
}

func (r projectRefRow) toDomain() auth.Project {
	return auth.Project{ID: r.ID, OrganizationID: r.OrganizationID, Code: r.Code, Name: r.Name}
}

// Project implements auth.Store (reading the org area's table).
func (s *AuthStore) Project(ctx context.Context, id uuid.UUID) (*auth.Project, error) {
	var rows []projectRefRow
	err := s.db.Gorm(ctx).Raw(`SELECT id, organization_id, code, name FROM projects WHERE id = ? AND deleted_at IS NULL`, id).Scan(&rows).Error
	if err != nil {
		return nil, Translate(err)
	}
	if len(rows) == 0 {
		return nil, apperr.NotFound("project")
	}
	p := rows[0].toDomain()
	return &p, nil
}

type memberRow struct {
	ProjectID uuid.UUID `gorm:"column:project_id;primaryKey"`
	UserID    uuid.UUID `gorm:"column:user_id;primaryKey"`
	Role      string    `gorm:"column:role;primaryKey"`
	CreatedAt time.Time `gorm:"column:created_at"`
	UpdatedAt time.Time `gorm:"column:updated_at"`
}

func (memberRow) TableName() string { return "project_members" }

// ReplaceMemberRoles implements auth.Store: roles no longer held are deleted, new ones
// inserted, kept ones untouched (their created_at stays).
func (s *AuthStore) ReplaceMemberRoles(ctx context.Context, projectID, userID uuid.UUID, roles []authz.Role) error {
	names := make([]string, len(roles))
	rows := make([]memberRow, len(roles))
	for i, r := range roles {
		names[i] = string(r)
		rows[i] = memberRow{ProjectID: projectID, UserID: userID, Role: string(r)}
	}
	return s.db.InTx(ctx, func(ctx context.Context) error {
		db := s.db.Gorm(ctx)
		if err := db.Exec(`DELETE FROM project_members WHERE project_id = ? AND user_id = ? AND role NOT IN ?`,
			projectID, userID, names).Error; err != nil {
			return Translate(err)
		}
		if len(rows) == 0 {
			return nil
		}
		return Translate(db.Clauses(clause.OnConflict{DoNothing: true}).Create(&rows).Error)
	})
}

// DeleteMember implements auth.Store.
func (s *AuthStore) DeleteMember(ctx context.Context, projectID, userID uuid.UUID) error {
	return Translate(s.db.Gorm(ctx).Exec(`DELETE FROM project_members WHERE project_id = ? AND user_id = ?`, projectID, userID).Error)
}

type memberListRow struct {
	ID          uuid.UUID  `gorm:"column:id"`
	DisplayName string     `gorm:"column:display_name"`
	Username    *string    `gorm:"column:username"`
	Phone       *string    `gorm:"column:phone"`
	DisabledAt  *time.Time `gorm:"column:disabled_at"`
	Roles       string     `gorm:"column:roles"`
}

// ListMembers implements auth.Store.
func (s *AuthStore) ListMembers(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[auth.Member], error) {
	var rows []memberListRow
	err := s.db.Gorm(ctx).Raw(`SELECT u.id, u.display_name, u.username, u.phone, u.disabled_at, string_agg(m.role, ',') AS roles
FROM project_members m JOIN users u ON u.id = m.user_id
WHERE m.project_id = ? AND u.deleted_at IS NULL AND u.id > ?
GROUP BY u.id ORDER BY u.id LIMIT ?`, projectID, req.After, req.Limit+1).Scan(&rows).Error
	if err != nil {
		return page.Page[auth.Member]{}, Translate(err)
	}
	members := make([]auth.Member, len(rows))
	for i, r := range rows {
		members[i] = auth.Member{ProjectID: projectID, User: auth.UserSummary{ID: r.ID, DisplayName: r.DisplayName,
			Username: authString(r.Username), Phone: authString(r.Phone), Disabled: r.DisabledAt != nil}, Roles: parseRoles(r.Roles)}
	}
	return page.Build(members, req.Limit, func(m auth.Member) uuid.UUID { return m.User.ID }), nil
}

// parseRoles splits string_agg's list into roles in authz.Roles order.
func parseRoles(s string) []authz.Role {
	have := strings.Split(s, ",")
	out := make([]authz.Role, 0, len(have))
	for _, r := range authz.Roles {
		for _, h := range have {
			if h == string(r) {
				out = append(out, r)
				break
			}
		}
	}
	return out
}
