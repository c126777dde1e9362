package api

import (
	"github.com/gofiber/fiber/v2"

	"github.com/fieldops/fieldops/internal/sla"
)

// The SLA requests check types; the SLA service checks the values and names fields as here.

type slaTargetRequest struct {
	Code                 string   `json:"code"`
	From                 string   `json:"from"`
	To                   string   `json:"to"`
	Minutes              int      `json:"minutes"`
	BusinessHours        bool     `json:"business_hours"`
	WarnShare            *float64 `json:"warn_share"`
	EscalateEveryMinutes *int     `json:"escalate_every_minutes"`
}

type putSLAPolicyRequest struct {
	Version *int               `json:"version" validate:"required"`
	Targets []slaTargetRequest `json:"targets" validate:"required"`
}

func (r *putSLAPolicyRequest) toInput() (sla.PolicyInput, error) {
	in := sla.PolicyInput{Version: *r.Version, Targets: make([]sla.TargetInput, len(r.Targets))}
	for i, t := range r.Targets {
		in.Targets[i] = sla.TargetInput{Code: t.Code, From: t.From, To: t.To, Minutes: t.Minutes, BusinessHours: t.BusinessHours,
			WarnShare: t.WarnShare, EscalateEveryMinutes: t.EscalateEveryMinutes}
	}
	return in, nil
}

type putCalendarRequest struct {
	Version  *int                  `json:"version" validate:"required"`
	Week     map[string][][]string `json:"week" validate:"required"`
	Holidays []string              `json:"holidays"`
	Workdays map[string]string     `json:"workdays"`
}

func (r *putCalendarRequest) toInput() (sla.CalendarInput, error) {
	return sla.CalendarInput{Version: *r.Version, Week: r.Week, Holidays: r.Holidays, Workdays: r.Workdays}, nil
}

// registerSLARoutes adds the project's SLA policies and calendar and a work order's clocks.
func registerSLARoutes(authed fiber.Router, s *sla.Service) {
	authed.Get("/projects/:project_id/sla-policies", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		items, err := s.Policies(c.UserContext(), projectID)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, itemsOf[sla.Policy]{Items: items})
	})
	const one = "/projects/:project_id/sla-policies/:work_type/:priority"
	authed.Get(one, func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		p, err := s.Policy(c.UserContext(), projectID, c.Params("work_type"), c.Params("priority"))
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Put(one, func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		in, err := bindAs(c, (*putSLAPolicyRequest).toInput)
		if err != nil {
			return err
		}
		p, err := s.PutPolicy(c.UserContext(), projectID, c.Params("work_type"), c.Params("priority"), in)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Delete(one, func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		version, err := versionQuery(c)
		if err != nil {
			return err
		}
		if err := s.DeletePolicy(c.UserContext(), projectID, c.Params("work_type"), c.Params("priority"), version); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	authed.Get("/projects/:project_id/calendar", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		doc, err := s.Calendar(c.UserContext(), projectID)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, doc)
	})
	authed.Put("/projects/:project_id/calendar", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		in, err := bindAs(c, (*putCalendarRequest).toInput)
		if err != nil {
			return err
		}
		doc, err := s.PutCalendar(c.UserContext(), projectID, in)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, doc)
	})
	authed.Get("/work-orders/:id/sla", getByID(s.WorkOrderSLA))
}
