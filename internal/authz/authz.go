// Package authz is the one place that decides whether the caller may touch an object:
// every domain service checks the object's project against the caller's memberships.
package authz

import (
	"context"
	"slices"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Role is what a person does in one project.
type Role string

// The roles; membership is per project.
const (
	RoleAdmin      Role = "admin"
	RoleSupervisor Role = "supervisor"
	RoleAmbassador Role = "ambassador"
	RoleEngineer   Role = "engineer"
	RoleGuard      Role = "guard"
)

// Roles lists every role, in the order used in documents.
var Roles = []Role{RoleAdmin, RoleSupervisor, RoleAmbassador, RoleEngineer, RoleGuard}

// Valid reports a known role.
func (r Role) Valid() bool { return slices.Contains(Roles, r) }

// Principal is the authenticated caller, loaded fresh for each request.
type Principal struct {
	UserID         uuid.UUID
	OrganizationID uuid.UUID
	// OrgAdmin administers the whole organization: every project, users, new projects.
	OrgAdmin bool
	// Projects maps each project the caller belongs to onto their roles there. For an
	// organization admin it holds every project of the organization with RoleAdmin.
	Projects map[uuid.UUID][]Role
}

// Has reports whether the caller holds one of roles in project (any role when roles is empty).
func (p *Principal) Has(project uuid.UUID, roles ...Role) bool {
	have, ok := p.Projects[project]
	if !ok {
		return false
	}
	if len(roles) == 0 {
		return true
	}
	for _, r := range roles {
		if slices.Contains(have, r) {
			return true
		}
	}
	return false
}

// ProjectIDs lists the projects the caller may see.
func (p *Principal) ProjectIDs() []uuid.UUID {
	ids := make([]uuid.UUID, 0, len(p.Projects))
	for id := range p.Projects {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return slices.Compare(a[:], b[:]) })
	return ids
}

type ctxKey struct{}

// WithPrincipal stores the caller in ctx.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the caller, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(*Principal)
	return p, ok && p != nil
}

// Caller returns the caller or an Unauthenticated error.
func Caller(ctx context.Context) (*Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, apperr.Unauthenticated("unauthenticated", "sign in first")
	}
	return p, nil
}

// Require checks an object of kind what that lives in project. A caller outside the
// project gets NotFound (another project's ids are not confirmed to exist); a member
// without one of roles gets Forbidden. No roles means any member.
func Require(ctx context.Context, what string, project uuid.UUID, roles ...Role) (*Principal, error) {
	p, err := Caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Has(project) {
		return nil, apperr.NotFound(what)
	}
	if !p.Has(project, roles...) {
		return nil, apperr.Forbidden("your role in this project does not allow this")
	}
	return p, nil
}

// RequireOrgAdmin checks the caller administers their organization.
func RequireOrgAdmin(ctx context.Context) (*Principal, error) {
	p, err := Caller(ctx)
	if err != nil {
		return nil, err
	}
	if !p.OrgAdmin {
		return nil, apperr.Forbidden("only an organization admin may do this")
	}
	return p, nil
}
