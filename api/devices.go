package api

import (
	"net/url"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
)

// deviceRequest registers a phone; the notify service checks every field and names
// them as here.
type deviceRequest struct {
	Token      string `json:"token"`
	Platform   string `json:"platform"`
	Locale     string `json:"locale"`
	AppVersion string `json:"app_version"`
	Provider   string `json:"provider"`
}

// registerDeviceRoutes adds the caller's own phones: register or refresh, remove.
func registerDeviceRoutes(authed fiber.Router, s *notify.Service) {
	authed.Put("/devices/:device_id", func(c *fiber.Ctx) error {
		id, err := deviceParam(c)
		if err != nil {
			return err
		}
		var req deviceRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		d, created, err := s.RegisterDevice(c.UserContext(), id, notify.DeviceInput{
			Token: req.Token, Platform: req.Platform, Locale: req.Locale, AppVersion: req.AppVersion, Provider: req.Provider,
		})
		if err != nil {
			return err
		}
		return createdOr200(c, d, created)
	})
	authed.Delete("/devices/:device_id", func(c *fiber.Ctx) error {
		id, err := deviceParam(c)
		if err != nil {
			return err
		}
		if err := s.RemoveDevice(c.UserContext(), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
}

// deviceParam is the app's own device id, as it sent it (percent-decoded).
func deviceParam(c *fiber.Ctx) (string, error) {
	id, err := url.PathUnescape(c.Params("device_id"))
	if err != nil {
		return "", apperr.Invalid("bad device id", apperr.FieldError{Field: "device_id", Rule: "device_id", Message: "is not a valid path segment"})
	}
	return id, nil
}
