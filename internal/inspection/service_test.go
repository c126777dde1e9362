package inspection_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/page"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

func newUUID() uuid.UUID { return uuid.Must(uuid.NewV7()) }

// fixture is a fresh database with an organization, a project with a building, a unit
// and a zone, a second organization, and users who hold roles through principals the
// tests make.
type fixture struct {
	db       *postgres.DB
	svc      *inspection.Service
	org      uuid.UUID
	otherOrg uuid.UUID
	project  uuid.UUID
	unit     uuid.UUID
	zone     uuid.UUID
	users    map[string]uuid.UUID
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := pgtest.New(t)
	f := &fixture{
		db: db, svc: inspection.NewService(postgres.NewInspectionStore(db), db),
		org: newUUID(), otherOrg: newUUID(), project: newUUID(), unit: newUUID(), zone: newUUID(), users: map[string]uuid.UUID{},
	}
	building := newUUID()
	f.exec(t, `INSERT INTO organizations (id, name) VALUES (?, 'Org'), (?, 'Other org')`, f.org, f.otherOrg)
	f.exec(t, `INSERT INTO projects (id, organization_id, code, name) VALUES (?, ?, 'P1', 'Project one')`, f.project, f.org)
	f.exec(t, `INSERT INTO buildings (id, project_id, code, name, floors) VALUES (?, ?, 'B1', 'Building 1', 10)`, building, f.project)
	f.exec(t, `INSERT INTO units (id, project_id, building_id, number, floor) VALUES (?, ?, ?, '101', 1)`, f.unit, f.project, building)
	f.exec(t, `INSERT INTO zones (id, project_id, code, name, kind) VALUES (?, ?, 'SALES', 'Sales centre', 'sales')`, f.zone, f.project)
	for _, name := range []string{"admin", "supervisor", "ambassador", "ambassador2", "engineer", "guard", "foreign"} {
		id := newUUID()
		org := f.org
		if name == "foreign" {
			org = f.otherOrg
		}
		f.exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash) VALUES (?, ?, ?, ?, 'x')`, id, org, name, name)
		f.users[name] = id
	}
	return f
}

func (f *fixture) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := f.db.Gorm(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("exec: %v", err)
	}
}

func (f *fixture) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	if err := f.db.Gorm(context.Background()).Raw(`SELECT count(*) FROM ` + table).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// as is a context for the named user: "admin" administers the organization, "foreign"
// the other one; the others hold the role of their name (without a trailing digit) in
// the project.
func (f *fixture) as(name string) context.Context {
	p := &authz.Principal{UserID: f.users[name], OrganizationID: f.org, Projects: map[uuid.UUID][]authz.Role{}}
	switch name {
	case "admin":
		p.OrgAdmin = true
		p.Projects[f.project] = []authz.Role{authz.RoleAdmin}
	case "foreign":
		p.OrganizationID, p.OrgAdmin = f.otherOrg, true
	default:
		role := authz.Role(name)
		if name == "ambassador2" {
			role = authz.RoleAmbassador
		}
		p.Projects[f.project] = []authz.Role{role}
	}
	return authz.WithPrincipal(context.Background(), p)
}

func wantKind(t *testing.T, err error, kind apperr.Kind, code string) {
	t.Helper()
	_ = problemOf(t, err, kind, code)
}

// problemOf is wantKind returning the error for further checks.
func problemOf(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok || e.Kind != kind || (code != "" && e.Code != code) {
		t.Fatalf("want error kind %d %q, got %v", kind, code, err)
	}
	return e
}

func wantFields(t *testing.T, err error, fields ...string) {
	t.Helper()
	e := problemOf(t, err, apperr.KindInvalid, "")
	var got []string
	for _, fe := range e.Fields {
		got = append(got, fe.Field)
	}
	for _, want := range fields {
		if !slices.Contains(got, want) {
			t.Fatalf("fields %v lack %q", got, want)
		}
	}
}

func walkthroughSections() []inspection.Section {
	return []inspection.Section{
		{Key: "kitchen", Title: "厨房 Kitchen", Items: []inspection.Item{
			{Key: "kitchen.tap", Title: "水龙头无渗漏", Kind: inspection.ItemPassFail, Required: true, PhotoRequired: true,
				Defect: &inspection.DefectPreset{Category: "leakage", Severity: "major"}},
			{Key: "kitchen.level", Title: "Floor level", Kind: inspection.ItemNumber, Unit: "mm"},
		}},
		{Key: "living", Title: "Living room", Items: []inspection.Item{
			{Key: "living.walls", Title: "Walls", Kind: inspection.ItemChoice, Required: true, Choices: []string{"good", "cracks", "stains"}},
			{Key: "living.note", Title: "Remarks", Kind: inspection.ItemText},
		}},
	}
}

func TestTemplateRevisionsStayAsTheyWere(t *testing.T) {
	f := newFixture(t)
	admin := f.as("admin")
	tpl, created, err := f.svc.CreateTemplate(admin, inspection.NewTemplate{
		ProjectID: &f.project, Name: " Walkthrough ", Kinds: []inspection.Kind{inspection.KindJointWalkthrough}, Sections: walkthroughSections(),
	})
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	if tpl.Name != "Walkthrough" || tpl.Revision != 1 || tpl.Version != 1 || tpl.OrganizationID != f.org || len(tpl.Sections) != 2 {
		t.Fatalf("created %+v", tpl)
	}

	// A new name keeps the revision.
	renamed := "Joint walkthrough"
	tpl, err = f.svc.UpdateTemplate(admin, tpl.ID, inspection.TemplatePatch{Version: 1, Name: &renamed})
	if err != nil || tpl.Revision != 1 || tpl.Version != 2 {
		t.Fatalf("rename: %+v %v", tpl, err)
	}
	// The same sections again change nothing.
	same, err := f.svc.UpdateTemplate(admin, tpl.ID, inspection.TemplatePatch{Version: 2, Sections: walkthroughSections()})
	if err != nil || same.Version != 2 || same.Revision != 1 {
		t.Fatalf("same sections: %+v %v", same, err)
	}
	// New sections make revision 2; revision 1 is kept as it was.
	sections := walkthroughSections()
	sections[0].Items = sections[0].Items[:1]
	tpl, err = f.svc.UpdateTemplate(admin, tpl.ID, inspection.TemplatePatch{Version: 2, Sections: sections})
	if err != nil || tpl.Revision != 2 || tpl.Version != 3 || len(tpl.Sections[0].Items) != 1 {
		t.Fatalf("new sections: %+v %v", tpl, err)
	}
	r1, err := f.svc.GetTemplateRevision(f.as("engineer"), tpl.ID, 1)
	if err != nil || len(r1.Sections[0].Items) != 2 || r1.Sections[0].Items[0].Defect.Category != "leakage" {
		t.Fatalf("revision 1: %+v %v", r1, err)
	}
	// Stale versions are refused with the current template.
	_, err = f.svc.UpdateTemplate(admin, tpl.ID, inspection.TemplatePatch{Version: 1, Name: &renamed})
	if e := problemOf(t, err, apperr.KindConflict, "version-conflict"); e.Current.(*inspection.Template).Version != 3 {
		t.Fatalf("current %+v", e.Current)
	}
	// Deleted, its revisions stay readable for the inspections made with them.
	if err := f.svc.DeleteTemplate(admin, tpl.ID, 3); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetTemplate(admin, tpl.ID)
	wantKind(t, err, apperr.KindNotFound, "")
	if _, err := f.svc.GetTemplateRevision(admin, tpl.ID, 2); err != nil {
		t.Fatalf("revision of deleted template: %v", err)
	}
	if n := f.count(t, "checklist_template_revisions"); n != 2 {
		t.Fatalf("%d revisions", n)
	}
}

func TestTemplateValidationNamesEachField(t *testing.T) {
	f := newFixture(t)
	sections := walkthroughSections()
	sections[0].Items[1].Key = "kitchen.tap"                                      // duplicate
	sections[0].Items[0].Defect.Category = "rust"                                 // unknown
	sections[1].Items[0].Choices = []string{"good"}                               // too few
	sections[1].Items[1].Kind = "essay"                                           // unknown
	sections[1].Items[1].Unit = "cm"                                              // only for numbers
	sections[1].Key = "Living Room"                                               // pattern
	sections = append(sections, inspection.Section{Key: "empty", Title: "Empty"}) // no items
	_, _, err := f.svc.CreateTemplate(f.as("admin"), inspection.NewTemplate{
		ProjectID: &f.project, Name: "", Kinds: []inspection.Kind{"tea_party"}, Sections: sections,
	})
	wantFields(t, err, "name", "kinds[0]", "sections[0].items[1].key", "sections[0].items[0].defect.category",
		"sections[1].items[0].choices", "sections[1].items[1].kind", "sections[1].items[1].unit", "sections[1].key", "sections[2].items")
	if n := f.count(t, "checklist_templates"); n != 0 {
		t.Fatalf("%d templates written", n)
	}
}

func TestTemplateAccess(t *testing.T) {
	f := newFixture(t)
	sections := walkthroughSections()
	_, _, err := f.svc.CreateTemplate(f.as("supervisor"), inspection.NewTemplate{Name: "Org-wide", Sections: sections})
	wantKind(t, err, apperr.KindForbidden, "")
	_, _, err = f.svc.CreateTemplate(f.as("supervisor"), inspection.NewTemplate{ProjectID: &f.project, Name: "Mine", Sections: sections})
	wantKind(t, err, apperr.KindForbidden, "")
	_, _, err = f.svc.CreateTemplate(f.as("foreign"), inspection.NewTemplate{ProjectID: &f.project, Name: "Theirs", Sections: sections})
	wantFields(t, err, "project_id")

	orgWide, _, err := f.svc.CreateTemplate(f.as("admin"), inspection.NewTemplate{Name: "Org-wide", Sections: sections})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.GetTemplate(f.as("engineer"), orgWide.ID); err != nil {
		t.Fatalf("engineer reads: %v", err)
	}
	_, err = f.svc.GetTemplate(f.as("guard"), orgWide.ID)
	wantKind(t, err, apperr.KindForbidden, "")
	_, err = f.svc.GetTemplate(f.as("foreign"), orgWide.ID)
	wantKind(t, err, apperr.KindNotFound, "")
	name := "Renamed"
	_, err = f.svc.UpdateTemplate(f.as("supervisor"), orgWide.ID, inspection.TemplatePatch{Version: 1, Name: &name})
	wantKind(t, err, apperr.KindForbidden, "")

	own, _, err := f.svc.CreateTemplate(f.as("admin"), inspection.NewTemplate{ProjectID: &f.project, Name: "Project's", Sections: sections})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.ListTemplates(f.as("ambassador"), &f.project, page.Request{Limit: 10})
	if err != nil || len(p.Items) != 2 {
		t.Fatalf("project list: %d %v", len(p.Items), err)
	}
	p, err = f.svc.ListTemplates(f.as("ambassador"), nil, page.Request{Limit: 10})
	if err != nil || len(p.Items) != 1 || p.Items[0].ID != orgWide.ID {
		t.Fatalf("organization list: %+v %v", p.Items, err)
	}
	p, err = f.svc.ListTemplates(f.as("ambassador"), &f.project, page.Request{Limit: 1})
	if err != nil || len(p.Items) != 1 || p.NextCursor == "" {
		t.Fatalf("first page: %+v %v", p, err)
	}
	after, _ := page.Parse(p.NextCursor, 1)
	p, err = f.svc.ListTemplates(f.as("ambassador"), &f.project, after)
	if err != nil || len(p.Items) != 1 || p.Items[0].ID != own.ID || p.NextCursor != "" {
		t.Fatalf("second page: %+v %v", p, err)
	}
}

func ptr[T any](v T) *T { return &v }

// photo inserts an attachment of the project in state and returns its id.
func (f *fixture) photo(t *testing.T, state string) uuid.UUID {
	t.Helper()
	id := newUUID()
	f.exec(t, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key, state)
		VALUES (?, ?, 'unit', ?, 'inspection', 'image/jpeg', 100, decode(repeat('ab', 32), 'hex'), ?, 'k', ?)`,
		id, f.project, f.unit, f.users["ambassador"], state)
	return id
}

func (f *fixture) draftDefect(t *testing.T, inspectionID uuid.UUID) uuid.UUID {
	t.Helper()
	id := newUUID()
	f.exec(t, `INSERT INTO defects (id, project_id, unit_id, category, severity, inspection_id, item_key, draft, reported_by)
		VALUES (?, ?, ?, 'leakage', 'major', ?, 'kitchen.tap', true, ?)`, id, f.project, f.unit, inspectionID, f.users["ambassador"])
	return id
}

func TestInspectionWalkthrough(t *testing.T) {
	f := newFixture(t)
	tpl, _, err := f.svc.CreateTemplate(f.as("admin"), inspection.NewTemplate{
		ProjectID: &f.project, Name: "Walkthrough", Kinds: []inspection.Kind{inspection.KindJointWalkthrough}, Sections: walkthroughSections(),
	})
	if err != nil {
		t.Fatal(err)
	}
	amb := f.as("ambassador")
	started := time.Date(2026, 3, 1, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))
	id := newUUID()
	in := inspection.NewInspection{ID: &id, UnitID: &f.unit, Kind: inspection.KindJointWalkthrough, TemplateID: &tpl.ID,
		BuyerPresent: true, BuyerName: ptr("王先生"), StartedAt: &started}
	insp, created, err := f.svc.CreateInspection(amb, in)
	if err != nil || !created || insp.State != inspection.StateDraft || *insp.TemplateRevision != 1 || insp.InspectorID != f.users["ambassador"] ||
		insp.BuildingID == nil || !insp.StartedAt.Equal(started) {
		t.Fatalf("create: %+v %v", insp, err)
	}
	// A retry answers the same draft; the same id with other fields is refused.
	again, created, err := f.svc.CreateInspection(amb, in)
	if err != nil || created || again.ID != id {
		t.Fatalf("retry: %v %v", created, err)
	}
	other := in
	other.BuyerName = ptr("李女士")
	_, _, err = f.svc.CreateInspection(amb, other)
	wantKind(t, err, apperr.KindConflict, "id-exists")
	// The wrong kind for the template, a zone kind on a unit.
	_, _, err = f.svc.CreateInspection(amb, inspection.NewInspection{UnitID: &f.unit, Kind: inspection.KindPreHandover, TemplateID: &tpl.ID})
	wantFields(t, err, "template_id")
	_, _, err = f.svc.CreateInspection(amb, inspection.NewInspection{UnitID: &f.unit, Kind: inspection.KindSiteAcceptance})
	wantFields(t, err, "kind")
	_, _, err = f.svc.CreateInspection(f.as("engineer"), inspection.NewInspection{UnitID: &f.unit, Kind: inspection.KindJointWalkthrough})
	wantKind(t, err, apperr.KindForbidden, "")

	// The draft is the author's alone.
	_, err = f.svc.GetInspection(f.as("supervisor"), id)
	wantKind(t, err, apperr.KindNotFound, "")
	_, err = f.svc.UpdateInspection(f.as("ambassador2"), id, inspection.Patch{Version: 1, Notes: ptr("mine now")})
	wantKind(t, err, apperr.KindNotFound, "")
	list, err := f.svc.ListInspections(f.as("supervisor"), inspection.Filter{ProjectID: &f.project}, page.Request{Limit: 10})
	if err != nil || len(list.Items) != 0 {
		t.Fatalf("supervisor lists drafts: %+v %v", list.Items, err)
	}

	// Answers are checked against the revision's items.
	rejected := f.photo(t, "rejected")
	_, err = f.svc.UpdateInspection(amb, id, inspection.Patch{Version: 1, Answers: map[string]*inspection.Answer{
		"kitchen.sink":  {Result: ptr("pass")},
		"kitchen.tap":   {Value: ptr(3.0)},
		"kitchen.level": {Result: ptr("pass"), Value: ptr(2.0)},
		"living.walls":  {Choice: ptr("perfect")},
		"living.note":   {Text: ptr("ok"), PhotoIDs: []uuid.UUID{rejected}},
	}})
	wantFields(t, err, "answers.kitchen.sink", "answers.kitchen.tap.value", "answers.kitchen.tap.result",
		"answers.kitchen.level.result", "answers.living.walls.choice", "answers.living.note.photo_ids")

	pending := f.photo(t, "pending")
	insp, err = f.svc.UpdateInspection(amb, id, inspection.Patch{Version: 1, Notes: ptr("walkthrough with buyer"), Answers: map[string]*inspection.Answer{
		"kitchen.tap":   {Result: ptr("fail"), Note: ptr("drips")},
		"kitchen.level": {Value: ptr(2.5)},
		"living.note":   {Text: ptr("fine")},
	}})
	if err != nil || insp.Version != 2 || len(insp.Answers) != 3 || *insp.Answers["kitchen.level"].Value != 2.5 {
		t.Fatalf("answers: %+v %v", insp, err)
	}
	// Merging key by key: null clears one, others stay.
	insp, err = f.svc.UpdateInspection(amb, id, inspection.Patch{Version: 2, Answers: map[string]*inspection.Answer{"living.note": nil}})
	if err != nil || insp.Version != 3 || len(insp.Answers) != 2 {
		t.Fatalf("clear: %+v %v", insp, err)
	}
	_, err = f.svc.UpdateInspection(amb, id, inspection.Patch{Version: 2, Notes: ptr("stale")})
	wantKind(t, err, apperr.KindConflict, "version-conflict")

	// Submitting needs the required items and the tap's photo.
	defectID := f.draftDefect(t, id)
	_, err = f.svc.SubmitInspection(amb, id, inspection.Submit{Version: 3})
	wantFields(t, err, "answers.living.walls", "answers.kitchen.tap.photo_ids")
	if _, err = f.svc.UpdateInspection(amb, id, inspection.Patch{Version: 3, Answers: map[string]*inspection.Answer{
		"kitchen.tap":  {Result: ptr("fail"), PhotoIDs: []uuid.UUID{pending}},
		"living.walls": {Choice: ptr("cracks")},
	}}); err != nil {
		t.Fatal(err)
	}
	finished := started.Add(time.Hour)
	insp, err = f.svc.SubmitInspection(amb, id, inspection.Submit{Version: 4, FinishedAt: &finished})
	if err != nil || insp.State != inspection.StateSubmitted || insp.SubmittedAt == nil || !insp.FinishedAt.Equal(finished) || insp.Version != 5 {
		t.Fatalf("submit: %+v %v", insp, err)
	}
	var draft bool
	var events int64
	f.db.Gorm(context.Background()).Raw(`SELECT draft FROM defects WHERE id = ?`, defectID).Scan(&draft)
	f.db.Gorm(context.Background()).Raw(`SELECT count(*) FROM defect_events WHERE defect_id = ? AND action = 'submit' AND from_status = 'open' AND to_status = 'open' AND actor_id = ?`,
		defectID, f.users["ambassador"]).Scan(&events)
	if draft || events != 1 {
		t.Fatalf("defect draft %v, %d submit events", draft, events)
	}
	// A retried submit answers the inspection as it is; a change is refused.
	if again, err := f.svc.SubmitInspection(amb, id, inspection.Submit{Version: 4}); err != nil || again.Version != 5 {
		t.Fatalf("retried submit: %v", err)
	}
	_, err = f.svc.UpdateInspection(amb, id, inspection.Patch{Version: 5, Notes: ptr("late")})
	wantKind(t, err, apperr.KindConflict, "inspection-not-draft")

	// Now the project sees it; supervisors may close it, engineers may not.
	if got, err := f.svc.GetInspection(f.as("engineer"), id); err != nil || len(got.Answers) != 3 {
		t.Fatalf("engineer reads: %v", err)
	}
	_, err = f.svc.GetInspection(f.as("guard"), id)
	wantKind(t, err, apperr.KindForbidden, "")
	_, err = f.svc.CloseInspection(f.as("engineer"), id, 5)
	wantKind(t, err, apperr.KindForbidden, "")
	closed, err := f.svc.CloseInspection(f.as("supervisor"), id, 5)
	if err != nil || closed.State != inspection.StateClosed || closed.ClosedAt == nil {
		t.Fatalf("close: %+v %v", closed, err)
	}
	_, err = f.svc.SubmitInspection(amb, id, inspection.Submit{Version: 6})
	wantKind(t, err, apperr.KindConflict, "inspection-not-draft")

	list, err = f.svc.ListInspections(f.as("supervisor"), inspection.Filter{UnitID: &f.unit, State: ptr(inspection.StateClosed)}, page.Request{Limit: 10})
	if err != nil || len(list.Items) != 1 || list.Items[0].Answers != nil {
		t.Fatalf("list: %+v %v", list.Items, err)
	}
}

func TestDeleteDraftDiscardsItsDefects(t *testing.T) {
	f := newFixture(t)
	eng := f.as("engineer")
	insp, _, err := f.svc.CreateInspection(eng, inspection.NewInspection{ZoneID: &f.zone, Kind: inspection.KindSiteAcceptance})
	if err != nil {
		t.Fatal(err)
	}
	// Without a template, keys are free-form with the answers' shape.
	_, err = f.svc.UpdateInspection(eng, insp.ID, inspection.Patch{Version: 1, Answers: map[string]*inspection.Answer{
		"Bad Key": {Result: ptr("pass")}, "gate": {Result: ptr("maybe")},
	}})
	wantFields(t, err, "answers.Bad Key", "answers.gate.result")
	if insp, err = f.svc.UpdateInspection(eng, insp.ID, inspection.Patch{Version: 1, Answers: map[string]*inspection.Answer{
		"gate": {Result: ptr("fail"), Note: ptr("hinge loose")},
	}}); err != nil {
		t.Fatal(err)
	}
	defectID := newUUID()
	f.exec(t, `INSERT INTO defects (id, project_id, zone_id, category, severity, inspection_id, draft, reported_by)
		VALUES (?, ?, ?, 'hardware', 'minor', ?, true, ?)`, defectID, f.project, f.zone, insp.ID, f.users["engineer"])

	wantKind(t, f.svc.DeleteInspection(eng, insp.ID, 1), apperr.KindConflict, "version-conflict")
	if err := f.svc.DeleteInspection(eng, insp.ID, 2); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.GetInspection(eng, insp.ID)
	wantKind(t, err, apperr.KindNotFound, "")
	var deleted bool
	var events int64
	f.db.Gorm(context.Background()).Raw(`SELECT deleted_at IS NOT NULL FROM defects WHERE id = ?`, defectID).Scan(&deleted)
	f.db.Gorm(context.Background()).Raw(`SELECT count(*) FROM defect_events WHERE defect_id = ? AND action = 'discard'`, defectID).Scan(&events)
	if !deleted || events != 1 {
		t.Fatalf("defect deleted %v, %d discard events", deleted, events)
	}
}
