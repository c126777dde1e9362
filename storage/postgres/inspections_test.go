package postgres_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/storage/postgres"
)

// inspectionFixture is the org fixture plus a unit, a user and the inspection store.
type inspectionFixture struct {
	*orgFixture
	store *postgres.InspectionStore
	unit  uuid.UUID
	user  uuid.UUID
}

func newInspectionFixture(t *testing.T) *inspectionFixture {
	t.Helper()
	f := &inspectionFixture{orgFixture: newOrgFixture(t), unit: newUUID(), user: newUUID()}
	f.store = postgres.NewInspectionStore(f.db)
	building := newUUID()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO buildings (id, project_id, code, name, floors) VALUES (?, ?, 'B1', 'B1', 5)`, []any{building, f.project.ID}},
		{`INSERT INTO units (id, project_id, building_id, number, floor) VALUES (?, ?, ?, '101', 1)`, []any{f.unit, f.project.ID, building}},
		{`INSERT INTO users (id, organization_id, display_name, username, password_hash) VALUES (?, ?, 'A', 'amb', 'x')`, []any{f.user, f.orgID}},
	} {
		if err := f.db.Gorm(context.Background()).Exec(q.sql, q.args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *inspectionFixture) draft(t *testing.T) *inspection.Inspection {
	t.Helper()
	place, err := f.store.UnitPlace(context.Background(), f.unit)
	if err != nil {
		t.Fatal(err)
	}
	i, err := f.store.InsertInspection(context.Background(), &inspection.Inspection{
		ID: newUUID(), ProjectID: place.ProjectID, BuildingID: place.BuildingID, UnitID: &f.unit, Kind: inspection.KindPreHandover,
		InspectorID: f.user, State: inspection.StateDraft, Answers: map[string]inspection.Answer{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestInspectionStoreConditionalWrites(t *testing.T) {
	f := newInspectionFixture(t)
	ctx := context.Background()
	i := f.draft(t)
	if i.Version != 1 || i.Answers == nil || *i.BuildingID == uuid.Nil {
		t.Fatalf("inserted %+v", i)
	}
	_, err := f.store.InsertInspection(ctx, i)
	if e, ok := apperr.As(err); !ok || e.Code != "id-exists" {
		t.Fatalf("duplicate id: %v", err)
	}

	pass := inspection.ResultPass
	i.Answers["door"] = inspection.Answer{Result: &pass}
	updated, err := f.store.UpdateInspection(ctx, i)
	if err != nil || updated.Version != 2 || *updated.Answers["door"].Result != "pass" {
		t.Fatalf("update: %+v %v", updated, err)
	}
	if _, err := f.store.UpdateInspection(ctx, i); !errors.Is(err, inspection.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	if err := f.store.DeleteInspection(ctx, i.ID, 1); !errors.Is(err, inspection.ErrStale) {
		t.Fatalf("stale delete: %v", err)
	}
	if err := f.store.DeleteInspection(ctx, i.ID, 2); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.GetInspection(ctx, i.ID, inspection.NoLock); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
}

func TestInspectionStoreEndsOnlyLiveDraftDefects(t *testing.T) {
	f := newInspectionFixture(t)
	ctx := context.Background()
	i := f.draft(t)
	add := func(draft, deleted bool) uuid.UUID {
		id := newUUID()
		err := f.db.Gorm(ctx).Exec(`INSERT INTO defects (id, project_id, unit_id, category, severity, inspection_id, draft, reported_by, deleted_at)
			VALUES (?, ?, ?, 'other', 'minor', ?, ?, ?, CASE WHEN ? THEN now() END)`, id, f.project.ID, f.unit, i.ID, draft, f.user, deleted).Error
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	live, _, _ := add(true, false), add(false, false), add(true, true)
	n, err := f.store.PublishDraftDefects(ctx, i.ID, f.user)
	if err != nil || n != 1 {
		t.Fatalf("published %d: %v", n, err)
	}
	var events []string
	f.db.Gorm(ctx).Raw(`SELECT defect_id::text FROM defect_events WHERE action = 'submit'`).Scan(&events)
	if len(events) != 1 || events[0] != live.String() {
		t.Fatalf("events %v", events)
	}
	if n, err := f.store.PublishDraftDefects(ctx, i.ID, f.user); err != nil || n != 0 {
		t.Fatalf("published again %d: %v", n, err)
	}
}

func TestInspectionStorePhotosAndTemplates(t *testing.T) {
	f := newInspectionFixture(t)
	ctx := context.Background()
	photo := func(state string, project uuid.UUID) uuid.UUID {
		id := newUUID()
		err := f.db.Gorm(ctx).Exec(`INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key, state)
			VALUES (?, ?, 'unit', ?, 'inspection', 'image/jpeg', 1, decode(repeat('ab', 32), 'hex'), ?, 'k', ?)`, id, project, f.unit, f.user, state).Error
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	pending, available, rejected, missing := photo("pending", f.project.ID), photo("available", f.project.ID), photo("rejected", f.project.ID), newUUID()
	bad, err := f.store.UnusablePhotos(ctx, f.project.ID, []uuid.UUID{pending, available, rejected, missing})
	if err != nil || len(bad) != 2 || !slices.Contains(bad, rejected) || !slices.Contains(bad, missing) {
		t.Fatalf("unusable %v %v", bad, err)
	}

	sections := []inspection.Section{{Key: "a", Title: "A", Items: []inspection.Item{{Key: "a.1", Title: "One", Kind: inspection.ItemText}}}}
	tpl, err := f.store.InsertTemplate(ctx, &inspection.Template{ID: newUUID(), OrganizationID: f.orgID, Name: "Org-wide",
		Kinds: []inspection.Kind{inspection.KindPreHandover, inspection.KindOneYearCheck}, Revision: 1, Sections: sections, CreatedBy: f.user})
	if err != nil || tpl.Version != 1 || len(tpl.Kinds) != 2 || tpl.Sections[0].Items[0].Key != "a.1" {
		t.Fatalf("insert template: %+v %v", tpl, err)
	}
	sections[0].Title = "A2"
	next := *tpl
	next.Revision, next.Sections = 2, sections
	if _, err := f.store.UpdateTemplate(ctx, &next, true, f.user); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.UpdateTemplate(ctx, &next, false, f.user); !errors.Is(err, inspection.ErrStale) {
		t.Fatalf("stale template update: %v", err)
	}
	r1, err := f.store.GetRevision(ctx, tpl.ID, 1)
	if err != nil || r1.Sections[0].Title != "A" || r1.ProjectID != nil {
		t.Fatalf("revision 1: %+v %v", r1, err)
	}
	p, err := f.store.ListTemplates(ctx, f.orgID, &f.project.ID, page.Request{Limit: 10})
	if err != nil || len(p.Items) != 1 || p.Items[0].Revision != 2 || p.Items[0].Sections[0].Title != "A2" {
		t.Fatalf("list: %+v %v", p, err)
	}
	cats, err := f.store.KnownCategories(ctx, f.orgID)
	if err != nil || !slices.Contains(cats, "leakage") {
		t.Fatalf("categories %v %v", cats, err)
	}
}
