package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/fieldops/fieldops/internal/auth"
)

type loginRequest struct {
	Login    string `json:"login" validate:"required,max=128"`
	Password string `json:"password" validate:"required,max=512"`
	DeviceID string `json:"device_id" validate:"required,max=128"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=512"`
	DeviceID     string `json:"device_id" validate:"required,max=128"`
}

type logoutRequest struct {
	RefreshToken string `json:"refresh_token" validate:"required,max=512"`
}

// registerPublicAuthRoutes adds sign-in, refresh and sign-out: public, since the access
// token may have expired.
func registerPublicAuthRoutes(public fiber.Router, s *auth.Service) {
	public.Post("/auth/login", func(c *fiber.Ctx) error {
		var req loginRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		sess, err := s.Login(c.UserContext(), auth.LoginInput{Login: req.Login, Password: req.Password, DeviceID: req.DeviceID, IP: c.IP()})
		if err != nil {
			return err
		}
		noStore(c)
		return writeJSON(c, fiber.StatusOK, sess)
	})
	public.Post("/auth/refresh", func(c *fiber.Ctx) error {
		var req refreshRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		sess, err := s.Refresh(c.UserContext(), auth.RefreshInput{RefreshToken: req.RefreshToken, DeviceID: req.DeviceID})
		if err != nil {
			return err
		}
		noStore(c)
		return writeJSON(c, fiber.StatusOK, sess)
	})
	public.Post("/auth/logout", func(c *fiber.Ctx) error {
		var req logoutRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		if err := s.Logout(c.UserContext(), req.RefreshToken); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

// registerAuthRoutes adds the authenticated caller's own endpoints.
func registerAuthRoutes(authed fiber.Router, s *auth.Service) {
	authed.Get("/me", func(c *fiber.Ctx) error {
		me, err := s.Me(c.UserContext())
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, me)
	})
}

// noStore keeps tokens out of caches (RFC 6749 §5.1).
func noStore(c *fiber.Ctx) {
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderPragma, "no-cache")
}
