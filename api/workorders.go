package api

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/internal/workorder"
)

// The work order requests check types and ids; the work order service checks the rest
// (places, work types, owners, evidence) and names fields as here.

type createWorkOrderRequest struct {
	ID             *string    `json:"id" validate:"omitnil,uuid"`
	ProjectID      *string    `json:"project_id" validate:"required,uuid"`
	BuildingID     *string    `json:"building_id" validate:"omitnil,uuid"`
	UnitID         *string    `json:"unit_id" validate:"omitnil,uuid"`
	ZoneID         *string    `json:"zone_id" validate:"omitnil,uuid"`
	LocationDetail string     `json:"location_detail"`
	WorkType       string     `json:"work_type" validate:"required"`
	Source         string     `json:"source" validate:"required"`
	Priority       string     `json:"priority" validate:"required"`
	Title          string     `json:"title"`
	Description    string     `json:"description"`
	ReporterName   *string    `json:"reporter_name"`
	ReporterPhone  *string    `json:"reporter_phone"`
	ReportedAt     *time.Time `json:"reported_at"`
	DefectID       *string    `json:"defect_id" validate:"omitnil,uuid"`
}

type updateWorkOrderRequest struct {
	Version        int                 `json:"version"`
	Title          *string             `json:"title"`
	Description    *string             `json:"description"`
	LocationDetail *string             `json:"location_detail"`
	Priority       *string             `json:"priority"`
	ReporterName   orgNullable[string] `json:"reporter_name"`
	ReporterPhone  orgNullable[string] `json:"reporter_phone"`
}

type workOrderCommandRequest struct {
	Version       int        `json:"version"`
	Action        string     `json:"action" validate:"required"`
	OwnerID       *string    `json:"owner_id" validate:"omitnil,uuid"`
	Note          *string    `json:"note"`
	Reason        *string    `json:"reason"`
	AttachmentIDs []string   `json:"attachment_ids" validate:"omitempty,max=20,dive,uuid"`
	DeviceAt      *time.Time `json:"device_at"`
}

func (r *createWorkOrderRequest) toNew() (workorder.NewWorkOrder, error) {
	in := workorder.NewWorkOrder{
		LocationDetail: r.LocationDetail, WorkType: r.WorkType, Source: r.Source, Priority: r.Priority, Title: r.Title,
		Description: r.Description, ReporterName: r.ReporterName, ReporterPhone: r.ReporterPhone, ReportedAt: r.ReportedAt,
	}
	project, err := orgUUIDField("project_id", r.ProjectID)
	if err != nil {
		return in, err
	}
	in.ProjectID = *project
	for _, f := range []struct {
		name string
		src  *string
		dst  **uuid.UUID
	}{{"id", r.ID, &in.ID}, {"building_id", r.BuildingID, &in.BuildingID}, {"unit_id", r.UnitID, &in.UnitID},
		{"zone_id", r.ZoneID, &in.ZoneID}, {"defect_id", r.DefectID, &in.DefectID}} {
		if *f.dst, err = orgUUIDField(f.name, f.src); err != nil {
			return in, err
		}
	}
	return in, nil
}

func (r *updateWorkOrderRequest) toPatch() (workorder.Patch, error) {
	return workorder.Patch{
		Version: r.Version, Title: r.Title, Description: r.Description, LocationDetail: r.LocationDetail, Priority: r.Priority,
		ReporterName:  workorder.Optional[string]{Set: r.ReporterName.Set, Value: r.ReporterName.Value},
		ReporterPhone: workorder.Optional[string]{Set: r.ReporterPhone.Set, Value: r.ReporterPhone.Value},
	}, nil
}

func (r *workOrderCommandRequest) toCommand() (workorder.Command, error) {
	cmd := workorder.Command{
		Version: r.Version, Action: workorder.Action(r.Action), Note: r.Note, Reason: r.Reason, DeviceAt: r.DeviceAt,
	}
	var err error
	if cmd.OwnerID, err = orgUUIDField("owner_id", r.OwnerID); err != nil {
		return cmd, err
	}
	for i, s := range r.AttachmentIDs {
		id, err := orgUUIDField("attachment_ids["+strconv.Itoa(i)+"]", &s)
		if err != nil {
			return cmd, err
		}
		cmd.AttachmentIDs = append(cmd.AttachmentIDs, *id)
	}
	return cmd, nil
}

// putWorkTypeRequest is an organization's own work type; the code is in the path.
type putWorkTypeRequest struct {
	LabelEN  string `json:"label_en"`
	LabelZH  string `json:"label_zh"`
	Position int    `json:"position"`
}

// registerWorkOrderRoutes adds the work types, work orders, their commands and history.
func registerWorkOrderRoutes(authed fiber.Router, s *workorder.Service) {
	authed.Get("/work-types", func(c *fiber.Ctx) error {
		items, err := s.WorkTypes(c.UserContext())
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, itemsOf[workorder.WorkType]{Items: items})
	})
	authed.Put("/work-types/:code", func(c *fiber.Ctx) error {
		var req putWorkTypeRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		out, err := s.PutWorkType(c.UserContext(), workorder.WorkType{Code: c.Params("code"), LabelEN: req.LabelEN, LabelZH: req.LabelZH, Position: req.Position})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, out)
	})
	authed.Post("/work-orders", create((*createWorkOrderRequest).toNew, s.Create))
	authed.Get("/work-orders", func(c *fiber.Ctx) error {
		f, err := workOrderFilter(c)
		if err != nil {
			return err
		}
		return list(func(ctx context.Context, req page.Request) (page.Page[workorder.WorkOrder], error) {
			return s.List(ctx, f, req)
		})(c)
	})
	authed.Get("/work-orders/:id", getByID(s.Get))
	authed.Patch("/work-orders/:id", patchByID((*updateWorkOrderRequest).toPatch, s.Update))
	authed.Post("/work-orders/:id/transitions", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		cmd, err := bindAs(c, (*workOrderCommandRequest).toCommand)
		if err != nil {
			return err
		}
		w, err := s.Transition(c.UserContext(), id, cmd)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, w)
	})
	authed.Get("/work-orders/:id/history", getByID(s.History))
}

// workOrderFilter reads the list's query: project_id (required), building_id, unit_id,
// zone_id, status (a comma list), owner_id (a UUID or "me"), priority, work_type,
// source, overdue=true.
func workOrderFilter(c *fiber.Ctx) (workorder.Filter, error) {
	var f workorder.Filter
	var errs []apperr.FieldError
	id := func(name string, required bool) *uuid.UUID {
		raw := strings.TrimSpace(c.Query(name))
		if raw == "" {
			if required {
				errs = append(errs, apperr.FieldError{Field: name, Rule: "required", Message: "is required"})
			}
			return nil
		}
		v, err := uuid.Parse(raw)
		if err != nil {
			errs = append(errs, apperr.FieldError{Field: name, Rule: "uuid", Message: "must be a UUID"})
			return nil
		}
		return &v
	}
	text := func(name string) *string {
		if v := strings.TrimSpace(c.Query(name)); v != "" {
			return &v
		}
		return nil
	}
	if p := id("project_id", true); p != nil {
		f.ProjectID = *p
	}
	f.BuildingID, f.UnitID, f.ZoneID = id("building_id", false), id("unit_id", false), id("zone_id", false)
	if raw := strings.TrimSpace(c.Query("status")); raw != "" {
		for _, st := range strings.Split(raw, ",") {
			f.Statuses = append(f.Statuses, workorder.Status(strings.TrimSpace(st)))
		}
	}
	if strings.TrimSpace(c.Query("owner_id")) == "me" {
		f.OwnerIsMe = true
	} else {
		f.OwnerID = id("owner_id", false)
	}
	f.Priority, f.WorkType, f.Source = text("priority"), text("work_type"), text("source")
	switch c.Query("overdue") {
	case "", "false":
	case "true":
		f.Overdue = true
	default:
		errs = append(errs, apperr.FieldError{Field: "overdue", Rule: "boolean", Message: "must be true or false"})
	}
	if len(errs) > 0 {
		return f, apperr.Invalid("bad filter", errs...)
	}
	return f, nil
}
