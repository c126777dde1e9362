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

// registerUserRoutes adds user administration and project memberships.
func registerUserRoutes(authed fiber.Router, s *auth.Service) {
	authed.Post("/users", func(c *fiber.Ctx) error {
		var req createUserRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		u, created, err := s.CreateUser(c.UserContext(), auth.CreateUserInput{ID: req.ID, DisplayName: req.DisplayName,
			Username: req.Username, Phone: req.Phone, Password: req.Password, Locale: req.Locale, OrgAdmin: req.OrgAdmin})
		if err != nil {
			return err
		}
		status := fiber.StatusCreated
		if !created {
			status = fiber.StatusOK
		}
		return writeJSON(c, status, u)
	})
	authed.Get("/users", func(c *fiber.Ctx) error {
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListUsers(c.UserContext(), req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Get("/users/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		u, err := s.GetUser(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, u)
	})
	authed.Patch("/users/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		var req updateUserRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		u, err := s.UpdateUser(c.UserContext(), id, auth.UpdateUserInput{Version: req.Version, DisplayName: req.DisplayName,
			Phone: req.Phone, Locale: req.Locale, Password: req.Password, Disabled: req.Disabled})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, u)
	})

	authed.Get("/projects/:project_id/members", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		p, err := s.ListMembers(c.UserContext(), projectID, req)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Put("/projects/:project_id/members/:user_id", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		userID, err := uuidParam(c, "user_id")
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
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		userID, err := uuidParam(c, "user_id")
		if err != nil {
			return err
		}
		if err := s.RemoveMember(c.UserContext(), projectID, userID); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}
