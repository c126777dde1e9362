package defect

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

// maxClockSkew is how far ahead of the server a device's clock may run.
const maxClockSkew = 24 * time.Hour

// Create records a defect (ambassadors, supervisors, engineers, project admins). It
// takes its project and building from the unit (or zone). Found in a draft inspection,
// it is a draft too, private to the reporter until the inspection is submitted.
// With a client-chosen id a retry with the same content returns the defect as it is.
func (s *Service) Create(ctx context.Context, in NewDefect) (_ *Defect, created bool, _ error) {
	var out *Defect
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		want, p, err := s.checkNew(ctx, in)
		if err != nil {
			return err
		}
		if in.ID != nil {
			cur, err := s.store.GetDefect(ctx, *in.ID, NoLock)
			switch {
			case err == nil:
				visible := p.Has(cur.ProjectID, readers...) && (!cur.Draft || cur.ReportedBy == p.UserID)
				if visible && sameNew(cur, want) {
					cur.Overdue = isOverdue(cur, s.clock())
					out = cur
					return nil
				}
				var shown any
				if visible {
					shown = cur
				}
				return apperr.Conflict("id-exists", "a defect with this id already exists with other fields", shown)
			case !errors.Is(err, apperr.ErrNotFound):
				return err
			}
		}
		id, err := ids.New(in.ID)
		if err != nil {
			return err
		}
		want.ID = id
		if out, err = s.store.InsertDefect(ctx, want); err != nil {
			return err
		}
		created = true
		return s.store.InsertEvent(ctx, &Event{
			DefectID: out.ID, Action: ActionCreate, ToStatus: out.Status, ActorID: p.UserID,
			DeviceAt: in.ReportedAt,
		})
	})
	return out, created, err
}

// sameNew reports whether a stored defect is the one a retried create asks for.
func sameNew(cur, want *Defect) bool {
	return ids.Same(cur.UnitID, want.UnitID) && ids.Same(cur.ZoneID, want.ZoneID) && ids.Same(cur.Room, want.Room) &&
		ids.Same(cur.PlanAttachmentID, want.PlanAttachmentID) && ids.Same(cur.Pin, want.Pin) &&
		cur.Category == want.Category && cur.Severity == want.Severity && cur.Description == want.Description &&
		ids.Same(cur.InspectionID, want.InspectionID) && ids.Same(cur.ItemKey, want.ItemKey) && cur.ReportedBy == want.ReportedBy
}

// checkNew validates a new defect against its place, its inspection and the
// reference data, and returns it as it would be stored (without id).
func (s *Service) checkNew(ctx context.Context, in NewDefect) (*Defect, *authz.Principal, error) {
	var c checker
	c.ClientID(in.ID)
	d := &Defect{
		UnitID: in.UnitID, ZoneID: in.ZoneID, Room: emptyAsNil(trimmedPtr(in.Room)), PlanAttachmentID: in.PlanAttachmentID,
		Pin: in.Pin, Category: strings.TrimSpace(in.Category), Severity: strings.TrimSpace(in.Severity),
		Description: strings.TrimSpace(in.Description), InspectionID: in.InspectionID, ItemKey: emptyAsNil(trimmedPtr(in.ItemKey)),
		Status: StatusOpen, DeviceReportedAt: in.ReportedAt, Version: 1,
	}
	if (in.UnitID == nil) == (in.ZoneID == nil) {
		c.Add("unit_id", "required_without", "name exactly one of unit_id and zone_id")
		return nil, nil, c.Err()
	}
	// The place decides the project, so it is checked (and the caller's role in its
	// project) before anything else is looked at.
	var place *Place
	var err error
	if in.UnitID != nil {
		place, err = s.store.UnitPlace(ctx, *in.UnitID)
	} else {
		place, err = s.store.ZonePlace(ctx, *in.ZoneID)
	}
	field := "unit_id"
	if in.ZoneID != nil {
		field = "zone_id"
	}
	if errors.Is(err, apperr.ErrNotFound) {
		return nil, nil, invalid(field, "exists", "is not a "+strings.TrimSuffix(field, "_id")+" you can see")
	}
	if err != nil {
		return nil, nil, err
	}
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, nil, err
	}
	if !p.Has(place.ProjectID) {
		return nil, nil, invalid(field, "exists", "is not a "+strings.TrimSuffix(field, "_id")+" you can see")
	}
	if _, err := authz.Require(ctx, "project", place.ProjectID, reporters...); err != nil {
		return nil, nil, err
	}
	d.ProjectID, d.BuildingID, d.ReportedBy = place.ProjectID, place.BuildingID, p.UserID

	c.text("description", d.Description, true, maxDescriptionLen)
	c.pin("pin", d.Pin)
	if d.Room != nil {
		c.text("room", *d.Room, false, maxRoomLen)
		if !c.Has("room") && !slices.Contains(place.Rooms, *d.Room) {
			c.Add("room", "room", "is not a room of the unit's type")
		}
	}
	if d.ItemKey != nil {
		c.text("item_key", *d.ItemKey, false, maxItemKeyLen)
		if d.InspectionID == nil {
			c.Add("item_key", "required_with", "needs the inspection_id of the checklist it is in")
		}
	}
	if in.ReportedAt != nil && in.ReportedAt.After(s.clock().Add(maxClockSkew)) {
		c.Add("reported_at", "past", "is more than a day in the future; check the device clock")
	}
	if d.PlanAttachmentID != nil {
		ok, err := s.store.PlanAttachmentUsable(ctx, d.ProjectID, *d.PlanAttachmentID)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			c.Add("plan_attachment_id", "exists", "is not a photo of this project")
		}
	}
	if d.InspectionID != nil {
		if err := s.checkInspection(ctx, d, p, &c); err != nil {
			return nil, nil, err
		}
	}
	if err := s.checkClassification(ctx, d, &c); err != nil {
		return nil, nil, err
	}
	return d, p, c.Err()
}

// checkInspection checks the inspection that found d: same place, not closed; a
// draft takes defects only from its own inspector, and makes d a draft. Category and
// severity left out come from the failed checklist item when it suggests them.
func (s *Service) checkInspection(ctx context.Context, d *Defect, p *authz.Principal, c *checker) error {
	insp, err := s.store.Inspection(ctx, *d.InspectionID)
	if errors.Is(err, apperr.ErrNotFound) || (err == nil && insp.State == "draft" && insp.InspectorID != p.UserID) {
		c.Add("inspection_id", "exists", "is not an inspection you can add defects to")
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case insp.ProjectID != d.ProjectID || !ids.Same(insp.UnitID, d.UnitID) || !ids.Same(insp.ZoneID, d.ZoneID):
		c.Add("inspection_id", "place", "is an inspection of another unit or zone")
		return nil
	case insp.State == "closed":
		c.Add("inspection_id", "state", "is closed: it takes no more defects")
		return nil
	}
	d.Draft = insp.State == "draft"
	if d.ItemKey != nil && (d.Category == "" || d.Severity == "") && insp.TemplateID != nil && insp.TemplateRevision != nil {
		cat, sev, err := s.store.ItemDefaults(ctx, *insp.TemplateID, *insp.TemplateRevision, *d.ItemKey)
		if err != nil {
			return err
		}
		if d.Category == "" {
			d.Category = cat
		}
		if d.Severity == "" {
			d.Severity = sev
		}
	}
	return nil
}

// checkClassification checks category and severity against the reference data.
func (s *Service) checkClassification(ctx context.Context, d *Defect, c *checker) error {
	if d.Category == "" {
		c.Add("category", "required", "is required (the checklist item suggests none)")
	} else {
		info, err := s.store.Project(ctx, d.ProjectID)
		if err != nil {
			return err
		}
		ok, err := s.store.CategoryExists(ctx, info.OrganizationID, d.Category)
		if err != nil {
			return err
		}
		if !ok {
			c.Add("category", "category", "is not a defect category; see GET /v1/defect-categories")
		}
	}
	if d.Severity == "" {
		c.Add("severity", "required", "is required (the checklist item suggests none)")
		return nil
	}
	_, err := s.store.GetSeverity(ctx, d.Severity)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		c.Add("severity", "severity", "is not a defect severity; see GET /v1/defect-severities")
	case err != nil:
		return err
	}
	return nil
}

// Get returns a defect the caller may see.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Defect, error) {
	d, _, err := s.load(ctx, id, NoLock)
	return d, err
}

// List lists a project's defects in id order; others' drafts are left out.
func (s *Service) List(ctx context.Context, f Filter, req page.Request) (page.Page[Defect], error) {
	if err := s.prepareFilter(ctx, &f, readers...); err != nil {
		return page.Page[Defect]{}, err
	}
	p, err := s.store.ListDefects(ctx, f, req)
	if err != nil {
		return p, err
	}
	for i := range p.Items {
		p.Items[i].Overdue = isOverdue(&p.Items[i], f.Now)
	}
	return p, nil
}

// prepareFilter checks the caller may list the project's defects and the filter's
// codes, and fills in who is asking and when.
func (s *Service) prepareFilter(ctx context.Context, f *Filter, roles ...authz.Role) error {
	p, err := authz.Require(ctx, "project", f.ProjectID, roles...)
	if err != nil {
		return err
	}
	var c checker
	for _, st := range f.Statuses {
		if !slices.Contains(Statuses, st) {
			c.Add("status", "oneof", "must be a comma-separated list of: open, assigned, in_progress, fixed, verified, reopened, cancelled")
			break
		}
	}
	if err := c.Err(); err != nil {
		return err
	}
	f.Viewer, f.Now = p.UserID, s.clock()
	if f.OwnerIsMe {
		f.OwnerID = &p.UserID
	}
	return nil
}

// Update changes a defect's description, place on the plan or classification: its
// reporter, ambassadors, supervisors and project admins, until it is verified or
// cancelled. Each change is an "edit" entry of its history.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Patch) (*Defect, error) {
	if err := requireVersion(in.Version); err != nil {
		return nil, err
	}
	var out *Defect
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, p, err := s.load(ctx, id, ForUpdate)
		if err != nil {
			return err
		}
		if !p.Has(cur.ProjectID, editors...) && cur.ReportedBy != p.UserID {
			return apperr.Forbidden("only the reporter, ambassadors, supervisors and project admins may change a defect")
		}
		if cur.Version != in.Version {
			return apperr.VersionConflict(cur)
		}
		if cur.Status == StatusVerified || cur.Status == StatusCancelled {
			return apperr.Conflict("defect-closed", "a verified or cancelled defect cannot be changed", cur)
		}
		next, err := s.applyPatch(ctx, cur, in)
		if err != nil {
			return err
		}
		if next == nil {
			out = cur
			return nil
		}
		if out, err = s.store.UpdateDefect(ctx, next); err != nil {
			return s.stale(ctx, id, err)
		}
		out.Overdue = isOverdue(out, s.clock())
		from := cur.Status
		return s.store.InsertEvent(ctx, &Event{
			DefectID: id, Action: ActionEdit, FromStatus: &from, ToStatus: cur.Status, ActorID: p.UserID,
			OwnerID: cur.OwnerID, DueAt: cur.DueAt,
		})
	})
	return out, err
}

// applyPatch returns cur changed by in, checked; nil when nothing changes.
func (s *Service) applyPatch(ctx context.Context, cur *Defect, in Patch) (*Defect, error) {
	next := *cur
	var c checker
	if in.Description != nil {
		next.Description = strings.TrimSpace(*in.Description)
		c.text("description", next.Description, true, maxDescriptionLen)
	}
	if in.Room.Set {
		next.Room = emptyAsNil(trimmedPtr(in.Room.Value))
		if next.Room != nil {
			c.text("room", *next.Room, false, maxRoomLen)
			var rooms []string
			if cur.UnitID != nil {
				place, err := s.store.UnitPlace(ctx, *cur.UnitID)
				if err != nil {
					return nil, err
				}
				rooms = place.Rooms
			}
			if !c.Has("room") && !slices.Contains(rooms, *next.Room) {
				c.Add("room", "room", "is not a room of the unit's type")
			}
		}
	}
	if in.Pin.Set {
		next.Pin = in.Pin.Value
		c.pin("pin", next.Pin)
	}
	if in.PlanAttachmentID.Set {
		next.PlanAttachmentID = in.PlanAttachmentID.Value
		if next.PlanAttachmentID != nil && !ids.Same(next.PlanAttachmentID, cur.PlanAttachmentID) {
			ok, err := s.store.PlanAttachmentUsable(ctx, cur.ProjectID, *next.PlanAttachmentID)
			if err != nil {
				return nil, err
			}
			if !ok {
				c.Add("plan_attachment_id", "exists", "is not a photo of this project")
			}
		}
	}
	if in.Category != nil {
		next.Category = strings.TrimSpace(*in.Category)
	}
	if in.Severity != nil {
		next.Severity = strings.TrimSpace(*in.Severity)
	}
	if next.Category != cur.Category || next.Severity != cur.Severity {
		if err := s.checkClassification(ctx, &next, &c); err != nil {
			return nil, err
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if next.Description == cur.Description && ids.Same(next.Room, cur.Room) && ids.Same(next.Pin, cur.Pin) &&
		ids.Same(next.PlanAttachmentID, cur.PlanAttachmentID) && next.Category == cur.Category && next.Severity == cur.Severity {
		return nil, nil
	}
	return &next, nil
}
