package api

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/page"
)

// The template and inspection requests are bound as sent; the inspection service
// checks every field (sections and answers need the template and the database) and
// names each by its path in the request.

type createTemplateRequest struct {
	ID        *string              `json:"id" validate:"omitnil,uuid"`
	ProjectID *string              `json:"project_id" validate:"omitnil,uuid"`
	Name      string               `json:"name"`
	Kinds     []inspection.Kind    `json:"kinds"`
	Sections  []inspection.Section `json:"sections"`
}

type updateTemplateRequest struct {
	Version  int                  `json:"version"`
	Name     *string              `json:"name"`
	Kinds    []inspection.Kind    `json:"kinds"`    // absent or null: unchanged
	Sections []inspection.Section `json:"sections"` // absent or null: unchanged
}

type createInspectionRequest struct {
	ID           *string    `json:"id" validate:"omitnil,uuid"`
	UnitID       *string    `json:"unit_id" validate:"omitnil,uuid"`
	ZoneID       *string    `json:"zone_id" validate:"omitnil,uuid"`
	Kind         string     `json:"kind"`
	TemplateID   *string    `json:"template_id" validate:"omitnil,uuid"`
	BuyerPresent bool       `json:"buyer_present"`
	BuyerName    *string    `json:"buyer_name"`
	StartedAt    *time.Time `json:"started_at"`
	Notes        string     `json:"notes"`
}

// answerRequest is one answer of a PATCH; photo ids are parsed here so a bad one is
// named by its place in the answers.
type answerRequest struct {
	Result     *string    `json:"result"`
	Value      *float64   `json:"value"`
	Text       *string    `json:"text"`
	Choice     *string    `json:"choice"`
	PhotoIDs   []string   `json:"photo_ids"`
	Note       *string    `json:"note"`
	AnsweredAt *time.Time `json:"answered_at"`
}

type updateInspectionRequest struct {
	Version      int                       `json:"version"`
	Notes        *string                   `json:"notes"`
	BuyerPresent *bool                     `json:"buyer_present"`
	BuyerName    *string                   `json:"buyer_name"`
	FinishedAt   *time.Time                `json:"finished_at"`
	Answers      map[string]*answerRequest `json:"answers"` // null for a key clears it
}

type submitInspectionRequest struct {
	Version    int        `json:"version"`
	FinishedAt *time.Time `json:"finished_at"`
}

type closeInspectionRequest struct {
	Version int `json:"version"`
}

func (r *createTemplateRequest) toNew() (inspection.NewTemplate, error) {
	id, err := orgUUIDField("id", r.ID)
	if err != nil {
		return inspection.NewTemplate{}, err
	}
	projectID, err := orgUUIDField("project_id", r.ProjectID)
	return inspection.NewTemplate{ID: id, ProjectID: projectID, Name: r.Name, Kinds: r.Kinds, Sections: r.Sections}, err
}

func (r *updateTemplateRequest) toPatch() (inspection.TemplatePatch, error) {
	return inspection.TemplatePatch{Version: r.Version, Name: r.Name, Kinds: r.Kinds, Sections: r.Sections}, nil
}

func (r *createInspectionRequest) toNew() (inspection.NewInspection, error) {
	var in inspection.NewInspection
	var err error
	for _, f := range []struct {
		name string
		raw  *string
		dst  **uuid.UUID
	}{{"id", r.ID, &in.ID}, {"unit_id", r.UnitID, &in.UnitID}, {"zone_id", r.ZoneID, &in.ZoneID}, {"template_id", r.TemplateID, &in.TemplateID}} {
		if *f.dst, err = orgUUIDField(f.name, f.raw); err != nil {
			return in, err
		}
	}
	in.Kind, in.BuyerPresent, in.BuyerName, in.StartedAt, in.Notes = inspection.Kind(r.Kind), r.BuyerPresent, r.BuyerName, r.StartedAt, r.Notes
	return in, nil
}

func (r *updateInspectionRequest) toPatch() (inspection.Patch, error) {
	out := inspection.Patch{
		Version: r.Version, Notes: r.Notes, BuyerPresent: r.BuyerPresent, BuyerName: r.BuyerName, FinishedAt: r.FinishedAt,
	}
	if r.Answers == nil {
		return out, nil
	}
	out.Answers = make(map[string]*inspection.Answer, len(r.Answers))
	var bad []apperr.FieldError
	keys := make([]string, 0, len(r.Answers))
	for k := range r.Answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		a := r.Answers[key]
		if a == nil {
			out.Answers[key] = nil
			continue
		}
		ans := &inspection.Answer{Result: a.Result, Value: a.Value, Text: a.Text, Choice: a.Choice, Note: a.Note, AnsweredAt: a.AnsweredAt}
		for i, raw := range a.PhotoIDs {
			id, err := uuid.Parse(raw)
			if err != nil {
				bad = append(bad, apperr.FieldError{Field: fmt.Sprintf("answers.%s.photo_ids[%d]", key, i), Rule: "uuid", Message: "must be a UUID"})
				continue
			}
			ans.PhotoIDs = append(ans.PhotoIDs, id)
		}
		out.Answers[key] = ans
	}
	if len(bad) > 0 {
		return out, apperr.Invalid("the request has invalid fields", bad...)
	}
	return out, nil
}

func (r *submitInspectionRequest) toSubmit() (inspection.Submit, error) {
	return inspection.Submit{Version: r.Version, FinishedAt: r.FinishedAt}, nil
}

func (r *closeInspectionRequest) toVersion() (int, error) { return r.Version, nil }

// registerInspectionRoutes adds checklist templates and inspections.
func registerInspectionRoutes(authed fiber.Router, s *inspection.Service) {
	authed.Post("/checklist-templates", create((*createTemplateRequest).toNew, s.CreateTemplate))
	authed.Get("/checklist-templates", listTemplates(s))
	authed.Get("/checklist-templates/:id", getByID(s.GetTemplate))
	authed.Get("/checklist-templates/:id/revisions/:revision", getTemplateRevision(s))
	authed.Patch("/checklist-templates/:id", patchByID((*updateTemplateRequest).toPatch, s.UpdateTemplate))
	authed.Delete("/checklist-templates/:id", deleteByID(s.DeleteTemplate))

	authed.Post("/inspections", create((*createInspectionRequest).toNew, s.CreateInspection))
	authed.Get("/inspections", listInspections(s))
	authed.Get("/inspections/:id", getByID(s.GetInspection))
	authed.Patch("/inspections/:id", patchByID((*updateInspectionRequest).toPatch, s.UpdateInspection))
	authed.Post("/inspections/:id/submit", patchByID((*submitInspectionRequest).toSubmit, s.SubmitInspection))
	authed.Post("/inspections/:id/close", patchByID((*closeInspectionRequest).toVersion, s.CloseInspection))
	authed.Delete("/inspections/:id", deleteByID(s.DeleteInspection))
}

// queryUUID reads an optional id filter of a list.
func queryUUID(c *fiber.Ctx, name string) (*uuid.UUID, error) {
	raw := c.Query(name)
	if raw == "" {
		return nil, nil
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, apperr.Invalid("bad filter", apperr.FieldError{Field: name, Rule: "uuid", Message: "must be a UUID"})
	}
	return &id, nil
}

// listTemplates answers GET /checklist-templates?project_id=.
func listTemplates(s *inspection.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		projectID, err := queryUUID(c, "project_id")
		if err != nil {
			return err
		}
		return list(func(ctx context.Context, req page.Request) (page.Page[inspection.Template], error) {
			return s.ListTemplates(ctx, projectID, req)
		})(c)
	}
}

// getTemplateRevision answers GET /checklist-templates/:id/revisions/:revision.
func getTemplateRevision(s *inspection.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		revision, err := strconv.Atoi(c.Params("revision"))
		if err != nil {
			return apperr.NotFound("template revision")
		}
		r, err := s.GetTemplateRevision(c.UserContext(), id, revision)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, r)
	}
}

// listInspections answers GET /inspections?project_id=&unit_id=&zone_id=&state=&mine=.
func listInspections(s *inspection.Service) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var f inspection.Filter
		var err error
		if f.ProjectID, err = queryUUID(c, "project_id"); err != nil {
			return err
		}
		if f.UnitID, err = queryUUID(c, "unit_id"); err != nil {
			return err
		}
		if f.ZoneID, err = queryUUID(c, "zone_id"); err != nil {
			return err
		}
		if raw := c.Query("state"); raw != "" {
			st := inspection.State(raw)
			f.State = &st
		}
		if raw := c.Query("mine"); raw != "" {
			if f.Mine, err = strconv.ParseBool(raw); err != nil {
				return apperr.Invalid("bad filter", apperr.FieldError{Field: "mine", Rule: "type", Message: "must be true or false"})
			}
		}
		return list(func(ctx context.Context, req page.Request) (page.Page[inspection.Inspection], error) {
			return s.ListInspections(ctx, f, req)
		})(c)
	}
}
