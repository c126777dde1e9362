package auth

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/page"
)

// SetMemberRoles makes roles the user's roles in the project, replacing what they had
// (project admins and organization admins; the user must be of the project's
// organization).
func (s *Service) SetMemberRoles(ctx context.Context, projectID, userID uuid.UUID, roles []authz.Role) (*Member, error) {
	proj, err := s.projectFor(ctx, projectID, authz.RoleAdmin)
	if err != nil {
		return nil, err
	}
	if len(roles) == 0 {
		return nil, apperr.Invalid("the roles are not valid", apperr.FieldError{Field: "roles", Rule: "required", Message: "at least one role is required; remove the member instead"})
	}
	for i, r := range roles {
		if !r.Valid() {
			return nil, apperr.Invalid("the roles are not valid", apperr.FieldError{Field: fmt.Sprintf("roles[%d]", i), Rule: "oneof",
				Message: "must be one of admin, supervisor, ambassador, engineer, guard"})
		}
	}
	roles = sortRoles(roles)
	var member *Member
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		u, err := s.memberUser(ctx, proj.OrganizationID, userID)
		if err != nil {
			return err
		}
		if err := s.store.ReplaceMemberRoles(ctx, projectID, userID, roles); err != nil {
			return err
		}
		member = &Member{ProjectID: projectID, User: u.Summary(), Roles: roles}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return member, nil
}

// RemoveMember takes every role of the user in the project away (project admins and
// organization admins). Removing someone who is not a member is not an error.
func (s *Service) RemoveMember(ctx context.Context, projectID, userID uuid.UUID) error {
	proj, err := s.projectFor(ctx, projectID, authz.RoleAdmin)
	if err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.memberUser(ctx, proj.OrganizationID, userID); err != nil {
			return err
		}
		return s.store.DeleteMember(ctx, projectID, userID)
	})
}

// ListMembers pages through a project's members with their roles (admins and supervisors).
func (s *Service) ListMembers(ctx context.Context, projectID uuid.UUID, req page.Request) (page.Page[Member], error) {
	if _, err := s.projectFor(ctx, projectID, authz.RoleAdmin, authz.RoleSupervisor); err != nil {
		return page.Page[Member]{}, err
	}
	return s.store.ListMembers(ctx, projectID, req)
}

// projectFor loads a live project and checks the caller's role in it; a project the
// caller cannot see is NotFound.
func (s *Service) projectFor(ctx context.Context, projectID uuid.UUID, roles ...authz.Role) (*Project, error) {
	if _, err := authz.Caller(ctx); err != nil {
		return nil, err
	}
	proj, err := s.store.Project(ctx, projectID)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Require(ctx, "project", proj.ID, roles...); err != nil {
		return nil, err
	}
	return proj, nil
}

// memberUser loads a live user of the project's organization, NotFound otherwise.
func (s *Service) memberUser(ctx context.Context, orgID, userID uuid.UUID) (*User, error) {
	u, err := s.store.UserByID(ctx, userID, false)
	if err != nil {
		return nil, err
	}
	if u.OrganizationID != orgID {
		return nil, apperr.NotFound("user")
	}
	return u, nil
}
