package api

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/report"
)

// registerReportRoutes adds the handover figures: defect counts and KPIs.
func registerReportRoutes(authed fiber.Router, s *report.Service) {
	authed.Get("/projects/:project_id/defect-counts", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		out, err := s.DefectCounts(c.UserContext(), projectID)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, out)
	})
	authed.Get("/projects/:project_id/defect-kpis", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		var building *uuid.UUID
		if raw := c.Query("building_id"); raw != "" {
			id, err := uuid.Parse(raw)
			if err != nil {
				return apperr.Invalid("bad filter", apperr.FieldError{Field: "building_id", Rule: "uuid", Message: "must be a UUID"})
			}
			building = &id
		}
		out, err := s.DefectKPIs(c.UserContext(), projectID, building)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, out)
	})
}
