package auth

import (
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/authz"
)

// Locales the apps are translated into.
var Locales = []string{"zh-CN", "en"}

// User is a member of staff as the API shows it; the password hash is never part of it.
type User struct {
	ID             uuid.UUID  `json:"id"`
	OrganizationID uuid.UUID  `json:"organization_id"`
	DisplayName    string     `json:"display_name"`
	Username       string     `json:"username,omitempty"`
	Phone          string     `json:"phone,omitempty"`
	OrgAdmin       bool       `json:"org_admin"`
	Locale         string     `json:"locale"`
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at,omitempty"`
	Version        int        `json:"version"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// Credentials is a user with the stored password hash, for login only.
type Credentials struct {
	User
	PasswordHash string
}

// Organization is the company a user works for.
type Organization struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// Session is what login and refresh answer.
type Session struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
	User             User   `json:"user"`
}

// Me is the signed-in user with where they work and in which role.
type Me struct {
	User         User         `json:"user"`
	Organization Organization `json:"organization"`
	OrgAdmin     bool         `json:"org_admin"`
	Projects     []MyProject  `json:"projects"`
}

// MyProject is one project of the caller with their roles in it.
type MyProject struct {
	ID    uuid.UUID    `json:"id"`
	Code  string       `json:"code"`
	Name  string       `json:"name"`
	Roles []authz.Role `json:"roles"`
}

// Project is what this area reads of a project (the org area owns projects).
type Project struct {
	ID             uuid.UUID
	OrganizationID uuid.UUID
	Code           string
	Name           string
}

// UserSummary is a user as listed next to something else.
type UserSummary struct {
	ID          uuid.UUID `json:"id"`
	DisplayName string    `json:"display_name"`
	Username    string    `json:"username,omitempty"`
	Phone       string    `json:"phone,omitempty"`
	Disabled    bool      `json:"disabled"`
}

// Member is a user's roles in one project.
type Member struct {
	ProjectID uuid.UUID    `json:"project_id"`
	User      UserSummary  `json:"user"`
	Roles     []authz.Role `json:"roles"`
}

// Summary shortens u.
func (u *User) Summary() UserSummary {
	return UserSummary{ID: u.ID, DisplayName: u.DisplayName, Username: u.Username, Phone: u.Phone, Disabled: u.Disabled}
}

// Access is what Authenticate loads for a user in one query.
type Access struct {
	UserID         uuid.UUID
	OrganizationID uuid.UUID
	OrgAdmin       bool
	Disabled       bool
	// Grants lists (project, role) pairs: the user's memberships in live projects and,
	// for an organization admin, RoleAdmin in every live project of the organization.
	Grants []Grant
}

// Grant is one role in one project.
type Grant struct {
	ProjectID uuid.UUID
	Role      authz.Role
}

// RefreshToken is one stored refresh token (its hash) in a login's chain.
type RefreshToken struct {
	ID        uuid.UUID
	FamilyID  uuid.UUID
	ParentID  *uuid.UUID
	UserID    uuid.UUID
	DeviceID  string
	Hash      []byte
	ExpiresAt time.Time
	RotatedAt *time.Time
	RevokedAt *time.Time
	CreatedAt time.Time
}

// LoginInput is a sign-in attempt; IP is the client address for rate limiting.
type LoginInput struct {
	Login    string
	Password string
	DeviceID string
	IP       string
}

// RefreshInput exchanges a refresh token for a new session.
type RefreshInput struct {
	RefreshToken string
	DeviceID     string
}

// CreateUserInput is a new user. ID is the client's id, if it chose one. At least one
// of Username and Phone is required; Locale defaults to zh-CN.
type CreateUserInput struct {
	ID          *uuid.UUID
	DisplayName string
	Username    string
	Phone       string
	Password    string
	Locale      string
	OrgAdmin    bool
}

// UpdateUserInput changes a user; nil fields stay. Phone "" removes the phone number
// (the user must then have a username). Version is the version the change is based on.
type UpdateUserInput struct {
	Version     int
	DisplayName *string
	Phone       *string
	Locale      *string
	Password    *string
	Disabled    *bool
}
