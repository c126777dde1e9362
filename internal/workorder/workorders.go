package workorder

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
	"github.com/fieldops/fieldops/internal/sla"
)

// Create records a work order: supervisors and project admins from any source (the
// hotline is theirs alone), other members from the app, an inspection or a patrol. It
// starts new, without an owner, and the SLA clocks hear "reported" (at the report
// time) and "created". With a client-chosen id a retry with the same content returns
// the work order as it is. The answer shows the reporter masked: GET is the one full,
// logged view.
func (s *Service) Create(ctx context.Context, in NewWorkOrder) (_ *WorkOrder, created bool, _ error) {
	var out *WorkOrder
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		now := s.clock()
		want, p, err := s.checkNew(ctx, in, now)
		if err != nil {
			return err
		}
		if in.ID != nil {
			cur, err := s.store.GetWorkOrder(ctx, *in.ID, NoLock)
			switch {
			case err == nil:
				visible := p.Has(cur.ProjectID, readers...)
				if visible && sameNew(cur, want, in.ReportedAt != nil) {
					out = masked(cur)
					return nil
				}
				var shown any
				if visible {
					shown = masked(cur)
				}
				return apperr.Conflict("id-exists", "a work order with this id already exists with other fields", shown)
			case !errors.Is(err, apperr.ErrNotFound):
				return err
			}
		}
		if want.ID, err = ids.New(in.ID); err != nil {
			return err
		}
		w, err := s.store.InsertWorkOrder(ctx, want)
		if err != nil {
			return err
		}
		created = true
		if err := s.store.InsertEvent(ctx, &Event{
			WorkOrderID: w.ID, Action: ActionCreate, ToStatus: w.Status, ActorID: p.UserID, DeviceAt: in.ReportedAt,
		}); err != nil {
			return err
		}
		if s.sla != nil {
			base := sla.Event{WorkOrderID: w.ID, ProjectID: w.ProjectID, WorkType: w.WorkType, Priority: w.Priority}
			reported, made := base, base
			reported.Name, reported.At = sla.EventReported, w.ReportedAt
			made.Name, made.At = sla.EventCreated, now
			if err := s.sla.Observe(ctx, reported, made); err != nil {
				return err
			}
		}
		out = masked(w)
		return nil
	})
	return out, created, err
}

// sameNew reports whether a stored work order is the one a retried create asks for
// (the report time only when the client gave one: else it was "now" the first time).
func sameNew(cur, want *WorkOrder, withReportedAt bool) bool {
	return cur.ProjectID == want.ProjectID && ids.Same(cur.BuildingID, want.BuildingID) && ids.Same(cur.UnitID, want.UnitID) &&
		ids.Same(cur.ZoneID, want.ZoneID) && cur.LocationDetail == want.LocationDetail && cur.WorkType == want.WorkType &&
		cur.Source == want.Source && cur.Priority == want.Priority && cur.Title == want.Title && cur.Description == want.Description &&
		ids.Same(cur.ReporterName, want.ReporterName) && ids.Same(cur.ReporterPhone, want.ReporterPhone) &&
		ids.Same(cur.DefectID, want.DefectID) && cur.CreatedBy == want.CreatedBy &&
		(!withReportedAt || cur.ReportedAt.Equal(want.ReportedAt))
}

// checkNew checks the caller may record the work order and validates it against its
// place and the reference data; it returns the work order as it would be stored
// (without id).
func (s *Service) checkNew(ctx context.Context, in NewWorkOrder, now time.Time) (*WorkOrder, *authz.Principal, error) {
	p, err := authz.Require(ctx, "project", in.ProjectID, readers...)
	if err != nil {
		return nil, nil, err
	}
	var c checker
	c.ClientID(in.ID)
	w := &WorkOrder{
		ProjectID: in.ProjectID, BuildingID: in.BuildingID, UnitID: in.UnitID, ZoneID: in.ZoneID,
		LocationDetail: strings.TrimSpace(in.LocationDetail), WorkType: strings.TrimSpace(in.WorkType),
		Source: strings.TrimSpace(in.Source), Priority: strings.TrimSpace(in.Priority),
		Title: strings.TrimSpace(in.Title), Description: strings.TrimSpace(in.Description),
		ReporterName: trimmedOrNil(in.ReporterName), ReporterPhone: trimmedOrNil(in.ReporterPhone),
		ReportedAt: now, DefectID: in.DefectID, Status: StatusNew, CreatedBy: p.UserID, Version: 1,
	}
	c.oneOf("source", w.Source, Sources)
	if slices.Contains(Sources, w.Source) && !slices.Contains(fieldSources, w.Source) && !p.Has(w.ProjectID, managers...) {
		return nil, nil, apperr.Forbidden("only supervisors and project admins record hotline calls; use source app, inspection or patrol")
	}
	c.oneOf("priority", w.Priority, Priorities)
	c.text("title", w.Title, true, maxTitleLen)
	c.text("description", w.Description, false, maxDescriptionLen)
	c.text("location_detail", w.LocationDetail, false, maxLocationDetailLen)
	c.reporterName(w.ReporterName)
	c.reporterPhone(w.ReporterPhone)
	if in.ReportedAt != nil {
		at := in.ReportedAt.UTC()
		switch {
		case at.After(now.Add(maxReportSkew)):
			c.Add("reported_at", "past", "is in the future; check the device clock")
		case at.Before(now):
			// A time a little ahead (a phone's fast clock) counts as now: a report
			// cannot come after the work order made from it.
			w.ReportedAt = at
		}
	}
	if w.WorkType == "" {
		c.Add("work_type", "required", "is required")
	} else {
		ok, err := s.store.WorkTypeExists(ctx, p.OrganizationID, w.WorkType)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			c.Add("work_type", "work_type", "is not a work type; see GET /v1/work-types")
		}
	}
	if err := s.checkPlace(ctx, w, &c); err != nil {
		return nil, nil, err
	}
	if w.DefectID != nil {
		project, err := s.store.DefectProject(ctx, *w.DefectID)
		switch {
		case errors.Is(err, apperr.ErrNotFound) || (err == nil && project != w.ProjectID):
			c.Add("defect_id", "exists", "is not a defect of the project")
		case err != nil:
			return nil, nil, err
		}
	}
	return w, p, c.Err()
}

// checkPlace checks the unit, zone and building are of the work order's project, and
// takes the building from the unit when it is not named.
func (s *Service) checkPlace(ctx context.Context, w *WorkOrder, c *checker) error {
	if w.UnitID != nil && w.ZoneID != nil {
		c.Add("unit_id", "excluded_with", "name a unit or a zone, not both")
		return nil
	}
	check := func(field string, id *uuid.UUID, get func(context.Context, uuid.UUID) (*Place, error)) (*Place, error) {
		if id == nil {
			return nil, nil
		}
		place, err := get(ctx, *id)
		if errors.Is(err, apperr.ErrNotFound) || (err == nil && place.ProjectID != w.ProjectID) {
			c.Add(field, "exists", "is not a "+strings.TrimSuffix(field, "_id")+" of the project")
			return nil, nil
		}
		return place, err
	}
	if _, err := check("building_id", w.BuildingID, s.store.BuildingPlace); err != nil {
		return err
	}
	if _, err := check("zone_id", w.ZoneID, s.store.ZonePlace); err != nil {
		return err
	}
	unit, err := check("unit_id", w.UnitID, s.store.UnitPlace)
	if err != nil || unit == nil {
		return err
	}
	switch {
	case w.BuildingID == nil:
		w.BuildingID = unit.BuildingID
	case !ids.Same(w.BuildingID, unit.BuildingID):
		c.Add("building_id", "place", "is not the unit's building")
	}
	return nil
}

// Get returns a work order the caller may see. Its owner, supervisors and project
// admins see the reporter in full, and each such view is logged in the same
// transaction as the read; everyone else sees the reporter masked.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*WorkOrder, error) {
	var out *WorkOrder
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		w, p, err := s.load(ctx, id, NoLock)
		if err != nil {
			return err
		}
		if !isOwner(w, p) && !p.Has(w.ProjectID, managers...) {
			out = masked(w)
			return nil
		}
		if fields := piiFields(w); len(fields) > 0 {
			if err := s.store.InsertPIIView(ctx, PIIView{
				UserID: p.UserID, ProjectID: w.ProjectID, RecordType: "work_order", RecordID: w.ID, Fields: fields,
			}); err != nil {
				return err
			}
		}
		out = w
		return nil
	})
	return out, err
}

// List lists a project's work orders in id order, the reporters masked.
func (s *Service) List(ctx context.Context, f Filter, req page.Request) (page.Page[WorkOrder], error) {
	p, err := authz.Require(ctx, "project", f.ProjectID, readers...)
	if err != nil {
		return page.Page[WorkOrder]{}, err
	}
	var c checker
	for _, st := range f.Statuses {
		if !slices.Contains(Statuses, st) {
			c.Add("status", "oneof", "must be a comma-separated list of: new, assigned, accepted, on_site, resolved, confirmed, closed, cancelled, reopened")
			break
		}
	}
	if f.Priority != nil {
		c.oneOf("priority", *f.Priority, Priorities)
	}
	if f.Source != nil {
		c.oneOf("source", *f.Source, Sources)
	}
	if err := c.Err(); err != nil {
		return page.Page[WorkOrder]{}, err
	}
	f.Now = s.clock()
	if f.OwnerIsMe {
		f.OwnerID = &p.UserID
	}
	out, err := s.store.ListWorkOrders(ctx, f, req)
	if err != nil {
		return out, err
	}
	for i := range out.Items {
		out.Items[i] = *masked(&out.Items[i])
	}
	return out, nil
}

// Update changes what a work order says (title, description, place detail, priority,
// reporter): its owner, supervisors and project admins, until it is closed or
// cancelled. Each change is an "edit" entry of its history. A new priority does not
// move clocks already running.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in Patch) (*WorkOrder, error) {
	if err := requireVersion(in.Version); err != nil {
		return nil, err
	}
	var out *WorkOrder
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, p, err := s.load(ctx, id, ForUpdate)
		if err != nil {
			return err
		}
		if !isOwner(cur, p) && !p.Has(cur.ProjectID, managers...) {
			return apperr.Forbidden("only the owner, supervisors and project admins may change a work order")
		}
		if cur.Version != in.Version {
			return apperr.VersionConflict(masked(cur))
		}
		if cur.Status == StatusClosed || cur.Status == StatusCancelled {
			return apperr.Conflict("work-order-closed", "a closed or cancelled work order cannot be changed", masked(cur))
		}
		next, err := applyPatch(cur, in)
		if err != nil {
			return err
		}
		if next == nil {
			out = masked(cur)
			return nil
		}
		w, err := s.store.UpdateWorkOrder(ctx, next)
		if err != nil {
			return s.stale(ctx, id, err)
		}
		from := cur.Status
		if err := s.store.InsertEvent(ctx, &Event{
			WorkOrderID: id, Action: ActionEdit, FromStatus: &from, ToStatus: cur.Status, ActorID: p.UserID, OwnerID: cur.OwnerID,
		}); err != nil {
			return err
		}
		out = masked(w)
		return nil
	})
	return out, err
}

// applyPatch returns cur changed by in, checked; nil when nothing changes.
func applyPatch(cur *WorkOrder, in Patch) (*WorkOrder, error) {
	next := *cur
	var c checker
	if in.Title != nil {
		next.Title = strings.TrimSpace(*in.Title)
		c.text("title", next.Title, true, maxTitleLen)
	}
	if in.Description != nil {
		next.Description = strings.TrimSpace(*in.Description)
		c.text("description", next.Description, false, maxDescriptionLen)
	}
	if in.LocationDetail != nil {
		next.LocationDetail = strings.TrimSpace(*in.LocationDetail)
		c.text("location_detail", next.LocationDetail, false, maxLocationDetailLen)
	}
	if in.Priority != nil {
		next.Priority = strings.TrimSpace(*in.Priority)
		c.oneOf("priority", next.Priority, Priorities)
	}
	if in.ReporterName.Set {
		next.ReporterName = trimmedOrNil(in.ReporterName.Value)
		c.reporterName(next.ReporterName)
	}
	if in.ReporterPhone.Set {
		next.ReporterPhone = trimmedOrNil(in.ReporterPhone.Value)
		c.reporterPhone(next.ReporterPhone)
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	if next.Title == cur.Title && next.Description == cur.Description && next.LocationDetail == cur.LocationDetail &&
		next.Priority == cur.Priority && ids.Same(next.ReporterName, cur.ReporterName) && ids.Same(next.ReporterPhone, cur.ReporterPhone) {
		return nil, nil
	}
	return &next, nil
}
