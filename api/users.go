package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/authz"
)

type createUserRequest struct {
	ID          *uuid.UUID `json:"id"`
	DisplayName string     `json:"display_name" validate:"required,max=200"`
	Username    string     `json:"username" validate:"required_without=Phone,max=64"`
	Phone       string     `json:"phone" validate:"max=32"`
	Password    string     `json:"password" validate:"required,min=8,max=128"`
	Locale      string     `json:"locale" validate:"omitempty,oneof=zh-CN en"`
	OrgAdmin    bool       `json:"org_admin"`
}

// updateUserRequest: absent fields stay; phone "" removes the phone number.
type updateUserRequest struct {
	Version     int     `json:"version" validate:"required,min=1"`
	DisplayName *string `json:"display_name" validate:"omitnil,min=1,max=200"`
	Phone       *string `json:"phone" validate:"omitnil,max=32"`
	Locale      *string `json:"locale" validate:"omitnil,oneof=zh-CN en"`
	Password    *string `json:"password" validate:"omitnil,min=8,max=128"`
	Disabled    *bool   `json:"disabled"`
}

type memberRolesRequest struct {
	Roles []authz.Role `json:"roles" validate:"required,min=1,max=5,unique,dive,oneof=admin supervisor ambassador engineer guard"`
}

func (r *createUserRequest) toNew() (auth.CreateUserInput, error) {
	return auth.CreateUserInput{ID: r.ID, DisplayName: r.DisplayName, Username: r.Username, Phone: r.Phone,
		Password: r.Password, Locale: r.Locale, OrgAdmin: r.OrgAdmin}, nil
}

func (r *updateUserRequest) toPatch() (auth.UpdateUserInput, error) {
	return auth.UpdateUserInput{Version: r.Version, DisplayName: r.DisplayName, Phone: r.Phone, Locale: r.Locale,
		Password: r.Password, Disabled: r.Disabled}, nil
}

// registerUserRoutes adds user administration and project memberships.
func registerUserRoutes(authed fiber.Router, s *auth.Service) {
	authed.Post("/users", create((*createUserRequest).toNew, s.CreateUser))
	authed.Get("/users", list(s.ListUsers))
	authed.Get("/users/:id", getByID(s.GetUser))
	authed.Patch("/users/:id", patchByID((*updateUserRequest).toPatch, s.UpdateUser))

	authed.Get("/projects/:project_id/members", listIn("project_id", s.ListMembers))
	authed.Put("/projects/:project_id/members/:user_id", func(c *fiber.Ctx) error {
		projectID, userID, err := memberParams(c)
		if err != nil {
			return err
		}
		var req memberRolesRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		m, err := s.SetMemberRoles(c.UserContext(), projectID, userID, req.Roles)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, m)
	})
	authed.Delete("/projects/:project_id/members/:user_id", func(c *fiber.Ctx) error {
		projectID, userID, err := memberParams(c)
		if err != nil {
			return err
		}
		if err := s.RemoveMember(c.UserContext(), projectID, userID); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

// memberParams reads the project and user ids of a membership's path.
func memberParams(c *fiber.Ctx) (projectID, userID uuid.UUID, _ error) {
	projectID, err := uuidParam(c, "project_id")
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	userID, err = uuidParam(c, "user_id")
	if err != nil {
		return uuid.Nil, uuid.Nil, err
	}
	return projectID, userID, nil
}
