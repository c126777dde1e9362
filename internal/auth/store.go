package auth

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

// Tx runs fn in one transaction (joined when ctx already has one).
type Tx interface {
	InTx(ctx context.Context, fn func(context.Context) error) error
}

// RateCounter is a fixed-window counter shared by every instance.
type RateCounter interface {
	// Hit adds one to key's counter for the current window and returns the new count
	// and when the window ends.
	Hit(ctx context.Context, key string, window time.Duration) (count int, resetAt time.Time, err error)
	// Peek returns the current window's count without adding to it.
	Peek(ctx context.Context, key string, window time.Duration) (count int, resetAt time.Time, err error)
	// Release takes back one hit of the current window (never below zero).
	Release(ctx context.Context, key string, window time.Duration) error
}

// Store is the storage the auth service needs. Lookups answer apperr.NotFound for
// missing rows; soft-deleted users and projects count as missing.
type Store interface {
	RateCounter

	// CredentialsByUsername finds a live user by username (case-insensitive).
	CredentialsByUsername(ctx context.Context, username string) (*Credentials, error)
	// CredentialsByPhone finds a live user by phone number.
	CredentialsByPhone(ctx context.Context, phone string) (*Credentials, error)
	// UserByID finds a live user; forUpdate locks the row for the transaction.
	UserByID(ctx context.Context, id uuid.UUID, forUpdate bool) (*User, error)
	// Profile finds a live user, their organization and the live projects among
	// projectIDs (in no particular order), in one query.
	Profile(ctx context.Context, userID uuid.UUID, projectIDs []uuid.UUID) (*User, *Organization, []Project, error)
	// Access loads what a request needs to know about its caller, in one query.
	Access(ctx context.Context, userID uuid.UUID) (*Access, error)
	// CreateUser inserts u; a taken username or phone is apperr.Conflict "user-exists",
	// a taken id apperr.Conflict "id-exists".
	CreateUser(ctx context.Context, u *User, passwordHash string) error
	// UpdateUser writes u's mutable fields (and the password hash when not empty) if the
	// row still has u.Version, and returns the row with the next version. A changed or
	// missing row is apperr.NotFound; a taken phone apperr.Conflict "user-exists".
	UpdateUser(ctx context.Context, u *User, passwordHash string) (*User, error)
	// ListUsers pages through an organization's live users in id order.
	ListUsers(ctx context.Context, orgID uuid.UUID, req page.Request) (page.Page[User], error)

	// InsertRefreshToken stores a new refresh token.
	InsertRefreshToken(ctx context.Context, t *RefreshToken) error
	// LockRefreshToken finds a token by hash and locks it (SELECT … FOR UPDATE).
	LockRefreshToken(ctx context.Context, hash []byte) (*RefreshToken, error)
	// LockRefreshChildren lists the tokens issued by rotating parentID, locked.
	LockRefreshChildren(ctx context.Context, parentID uuid.UUID) ([]RefreshToken, error)
	// MarkRefreshTokenRotated records that a token has been exchanged.
	MarkRefreshTokenRotated(ctx context.Context, id uuid.UUID, at time.Time) error
	// RevokeRefreshTokens revokes the named tokens.
	RevokeRefreshTokens(ctx context.Context, ids []uuid.UUID, at time.Time) error
	// RevokeRefreshFamily revokes every live token of a family.
	RevokeRefreshFamily(ctx context.Context, familyID uuid.UUID, at time.Time) error
	// RevokeRefreshFamilyByHash revokes the family of the token with this hash, if any.
	RevokeRefreshFamilyByHash(ctx context.Context, hash []byte, at time.Time) error
	// RevokeUserRefreshTokens revokes every live token of a user.
	RevokeUserRefreshTokens(ctx context.Context, userID uuid.UUID, at time.Time) error

	// Project finds a live project.
	Project(ctx context.Context, id uuid.UUID) (*Project, error)
	// ReplaceMemberRoles makes roles the user's exact roles in the project.
	ReplaceMemberRoles(ctx context.Context, projectID, userID uuid.UUID, roles []authz.Role) error
	// DeleteMember removes every role of the user in the project.
	DeleteMember(ctx context.Context, projectID, userID uuid.UUID) error
	// ListMembers pages through a project's live members in user id order.
	ListMembers(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Member], error)
}
