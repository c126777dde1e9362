package api

import (
	"bufio"
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/page"
)

// The defect requests check types and ids; the defect service checks everything that
// needs the database (rooms, categories, owners, evidence) and names fields as here.

type pinRequest struct {
	X *float64 `json:"x" validate:"required"`
	Y *float64 `json:"y" validate:"required"`
}

func (p *pinRequest) toPin() *defect.Pin {
	if p == nil {
		return nil
	}
	return &defect.Pin{X: *p.X, Y: *p.Y}
}

type createDefectRequest struct {
	ID               *string     `json:"id" validate:"omitnil,uuid"`
	UnitID           *string     `json:"unit_id" validate:"omitnil,uuid"`
	ZoneID           *string     `json:"zone_id" validate:"omitnil,uuid"`
	Room             *string     `json:"room"`
	PlanAttachmentID *string     `json:"plan_attachment_id" validate:"omitnil,uuid"`
	Pin              *pinRequest `json:"pin"`
	Category         string      `json:"category"`
	Severity         string      `json:"severity"`
	Description      string      `json:"description"`
	InspectionID     *string     `json:"inspection_id" validate:"omitnil,uuid"`
	ItemKey          *string     `json:"item_key"`
	ReportedAt       *time.Time  `json:"reported_at"`
}

type updateDefectRequest struct {
	Version          int                     `json:"version"`
	Description      *string                 `json:"description"`
	Room             orgNullable[string]     `json:"room"`
	Pin              orgNullable[pinRequest] `json:"pin"`
	PlanAttachmentID orgNullable[string]     `json:"plan_attachment_id"`
	Category         *string                 `json:"category"`
	Severity         *string                 `json:"severity"`
}

type transitionRequest struct {
	Version       int        `json:"version"`
	Action        string     `json:"action" validate:"required"`
	OwnerID       *string    `json:"owner_id" validate:"omitnil,uuid"`
	DueAt         *time.Time `json:"due_at"`
	Note          *string    `json:"note"`
	Reason        *string    `json:"reason"`
	AttachmentIDs []string   `json:"attachment_ids" validate:"omitempty,max=20,dive,uuid"`
	DeviceAt      *time.Time `json:"device_at"`
}

type createCommentRequest struct {
	ID       *string    `json:"id" validate:"omitnil,uuid"`
	Body     string     `json:"body"`
	DeviceAt *time.Time `json:"device_at"`
}

type putRulesRequest struct {
	Version           *int           `json:"version" validate:"required"`
	DueHours          map[string]int `json:"due_hours" validate:"required"`
	DueBeforeHandover *bool          `json:"due_before_handover" validate:"required"`
}

func (r *createDefectRequest) toNew() (defect.NewDefect, error) {
	in := defect.NewDefect{
		Room: r.Room, Pin: r.Pin.toPin(), Category: r.Category, Severity: r.Severity, Description: r.Description,
		ItemKey: r.ItemKey, ReportedAt: r.ReportedAt,
	}
	var err error
	for _, f := range []struct {
		name string
		src  *string
		dst  **uuid.UUID
	}{{"id", r.ID, &in.ID}, {"unit_id", r.UnitID, &in.UnitID}, {"zone_id", r.ZoneID, &in.ZoneID},
		{"plan_attachment_id", r.PlanAttachmentID, &in.PlanAttachmentID}, {"inspection_id", r.InspectionID, &in.InspectionID}} {
		if *f.dst, err = orgUUIDField(f.name, f.src); err != nil {
			return in, err
		}
	}
	return in, nil
}

func (r *updateDefectRequest) toPatch() (defect.Patch, error) {
	p := defect.Patch{
		Version: r.Version, Description: r.Description, Category: r.Category, Severity: r.Severity,
		Room: defect.Optional[string]{Set: r.Room.Set, Value: r.Room.Value},
		Pin:  defect.Optional[defect.Pin]{Set: r.Pin.Set},
	}
	if r.Pin.Value != nil {
		if err := validateStruct(r.Pin.Value); err != nil {
			return p, err
		}
		p.Pin.Value = r.Pin.Value.toPin()
	}
	plan, err := orgOptionalUUID("plan_attachment_id", r.PlanAttachmentID)
	p.PlanAttachmentID = defect.Optional[uuid.UUID]{Set: plan.Set, Value: plan.Value}
	return p, err
}

func (r *transitionRequest) toCommand() (defect.Command, error) {
	cmd := defect.Command{
		Version: r.Version, Action: defect.Action(r.Action), DueAt: r.DueAt, Note: r.Note, Reason: r.Reason, DeviceAt: r.DeviceAt,
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

func (r *createCommentRequest) toNew() (defect.NewComment, error) {
	id, err := orgUUIDField("id", r.ID)
	return defect.NewComment{ID: id, Body: r.Body, DeviceAt: r.DeviceAt}, err
}

func (r *putRulesRequest) toInput() (defect.RulesInput, error) {
	return defect.RulesInput{Version: *r.Version, DueHours: r.DueHours, DueBeforeHandover: *r.DueBeforeHandover}, nil
}

// putCategoryRequest is an organization's own defect category; the code is in the path.
type putCategoryRequest struct {
	LabelEN      string `json:"label_en"`
	LabelZH      string `json:"label_zh"`
	CountsAsLeak bool   `json:"counts_as_leak"`
	Position     int    `json:"position"`
}

// itemsOf wraps a whole (unpaged) list.
type itemsOf[T any] struct {
	Items []T `json:"items"`
}

// registerDefectRoutes adds the reference data, the project's rules, defects, their
// commands, history, comments and the CSV export.
func registerDefectRoutes(authed fiber.Router, s *defect.Service) {
	authed.Get("/defect-categories", func(c *fiber.Ctx) error {
		items, err := s.Categories(c.UserContext())
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, itemsOf[defect.Category]{Items: items})
	})
	authed.Put("/defect-categories/:code", func(c *fiber.Ctx) error {
		var req putCategoryRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		out, err := s.PutCategory(c.UserContext(), defect.Category{Code: c.Params("code"), LabelEN: req.LabelEN, LabelZH: req.LabelZH,
			CountsAsLeak: req.CountsAsLeak, Position: req.Position})
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, out)
	})
	authed.Get("/defect-severities", func(c *fiber.Ctx) error {
		items, err := s.Severities(c.UserContext())
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, itemsOf[defect.Severity]{Items: items})
	})
	authed.Get("/projects/:project_id/defect-rules", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		r, err := s.Rules(c.UserContext(), projectID)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, r)
	})
	authed.Put("/projects/:project_id/defect-rules", func(c *fiber.Ctx) error {
		projectID, err := uuidParam(c, "project_id")
		if err != nil {
			return err
		}
		in, err := bindAs(c, (*putRulesRequest).toInput)
		if err != nil {
			return err
		}
		r, err := s.PutRules(c.UserContext(), projectID, in)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, r)
	})

	authed.Post("/defects", create((*createDefectRequest).toNew, s.Create))
	authed.Get("/defects", func(c *fiber.Ctx) error {
		f, err := defectFilter(c)
		if err != nil {
			return err
		}
		return list(func(ctx context.Context, req page.Request) (page.Page[defect.Defect], error) {
			return s.List(ctx, f, req)
		})(c)
	})
	// Registered before /defects/:id, which would otherwise take "export" for an id.
	authed.Get("/defects/export", exportDefects(s))
	authed.Get("/defects/:id", getByID(s.Get))
	authed.Patch("/defects/:id", patchByID((*updateDefectRequest).toPatch, s.Update))
	authed.Post("/defects/:id/transitions", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		cmd, err := bindAs(c, (*transitionRequest).toCommand)
		if err != nil {
			return err
		}
		d, err := s.Transition(c.UserContext(), id, cmd)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, d)
	})
	authed.Get("/defects/:id/history", getByID(s.History))
	authed.Post("/defects/:id/comments", createIn("id", (*createCommentRequest).toNew, s.AddComment))
	authed.Get("/defects/:id/comments", listIn("id", s.Comments))
}

// defectFilter reads the list's query: project_id (required), building_id, unit_id,
// zone_id, inspection_id, status (a comma list), owner_id (a UUID or "me"), category,
// severity, overdue=true.
func defectFilter(c *fiber.Ctx) (defect.Filter, error) {
	var f defect.Filter
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
	if p := id("project_id", true); p != nil {
		f.ProjectID = *p
	}
	f.BuildingID, f.UnitID, f.ZoneID, f.InspectionID = id("building_id", false), id("unit_id", false), id("zone_id", false), id("inspection_id", false)
	if raw := strings.TrimSpace(c.Query("status")); raw != "" {
		for _, st := range strings.Split(raw, ",") {
			f.Statuses = append(f.Statuses, defect.Status(strings.TrimSpace(st)))
		}
	}
	if strings.TrimSpace(c.Query("owner_id")) == "me" {
		f.OwnerIsMe = true
	} else {
		f.OwnerID = id("owner_id", false)
	}
	if v := strings.TrimSpace(c.Query("category")); v != "" {
		f.Category = &v
	}
	if v := strings.TrimSpace(c.Query("severity")); v != "" {
		f.Severity = &v
	}
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

// exportTimeout bounds how long one export may stream after its handler returned.
const exportTimeout = 5 * time.Minute

// exportDefects answers GET /defects/export: the list's defects as a UTF-8 CSV file
// with a byte-order mark, so Excel shows Chinese text. Permission and the first page
// are checked before the answer starts (a refusal is still problem+json); the rest is
// streamed a page at a time.
func exportDefects(s *defect.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		f, err := defectFilter(c)
		if err != nil {
			return err
		}
		exp, err := s.Export(c.UserContext(), f)
		if err != nil {
			return err
		}
		first, err := exp.Next(c.UserContext())
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
		c.Set(fiber.HeaderContentDisposition, `attachment; filename="defects.csv"`)
		// The request's context ends with the handler; the stream runs after it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(c.UserContext()), exportTimeout)
		c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
			defer cancel()
			_, _ = w.WriteString("\uFEFF")
			cw := csv.NewWriter(w)
			_ = cw.Write(exportHeader)
			rows := first
			for len(rows) > 0 {
				for i := range rows {
					_ = cw.Write(exportRecord(&rows[i]))
				}
				cw.Flush()
				if cw.Error() != nil || w.Flush() != nil {
					return // the client went away
				}
				if rows, err = exp.Next(ctx); err != nil {
					return // the file ends early; the client sees a short file, not a wrong one
				}
			}
			cw.Flush()
		})
		return nil
	}
}

var exportHeader = []string{"id", "status", "severity", "category", "building", "unit", "zone", "room", "description",
	"owner", "due_at", "overdue", "reported_by", "reported_at", "assigned_at", "fixed_at", "verified_at", "closed_at",
	"reopen_count", "cancel_reason", "inspection_id"}

func exportRecord(r *defect.ExportRow) []string {
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return cell(*p)
	}
	tm := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	inspection := ""
	if r.InspectionID != nil {
		inspection = r.InspectionID.String()
	}
	return []string{r.ID.String(), string(r.Status), cell(r.Severity), cell(r.Category), str(r.BuildingCode), str(r.UnitNumber),
		str(r.ZoneCode), str(r.Room), cell(r.Description), str(r.OwnerName), tm(r.DueAt), strconv.FormatBool(r.Overdue),
		cell(r.ReporterName), tm(&r.CreatedAt), tm(r.AssignedAt), tm(r.FixedAt), tm(r.VerifiedAt), tm(r.ClosedAt),
		strconv.Itoa(r.ReopenCount), str(r.CancelReason), inspection}
}

// cell keeps text a spreadsheet would run as a formula (=, +, -, @ first) as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
