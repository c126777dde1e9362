package api_test

import (
	"net/http"
	"testing"
)

// matrixSections is a one-item checklist.
func matrixSections() []any {
	return []any{map[string]any{"key": "entry", "title": "入户 / Entry", "items": []any{
		map[string]any{"key": "entry.door", "title": "Door closes", "kind": "pass_fail"},
	}}}
}

// matrixFreshTemplate inserts a template of Demo Garden (orgWide: of its whole
// organization) at revision 1 and names it {checklist-template}; {revision} is 1.
func matrixFreshTemplate(orgWide, forDelete bool) func(t *testing.T, f *matrixFixture) map[string]string {
	return func(t *testing.T, f *matrixFixture) map[string]string {
		id := f.NewID()
		project := "projects.id"
		if orgWide {
			project = "NULL"
		}
		f.Exec(t, `INSERT INTO checklist_templates (id, organization_id, project_id, name, created_by)
			SELECT ?, projects.organization_id, `+project+`, 'Matrix template', users.id
			FROM projects, users WHERE projects.id = ? AND users.username = 'admin'`, id, f.IDs["project"])
		f.Exec(t, `INSERT INTO checklist_template_revisions (template_id, revision, sections, created_by)
			SELECT ?, 1, '[{"key":"entry","title":"Entry","items":[{"key":"entry.door","title":"Door","kind":"pass_fail","required":false,"photo_required":false}]}]', id
			FROM users WHERE username = 'admin'`, id)
		out := map[string]string{"checklist-template": id, "revision": "1"}
		if forDelete {
			out["checklist-template"] += "?version=1"
		}
		return out
	}
}

// matrixFreshInspection inserts a pre-handover inspection of Demo Garden's first unit
// by the ambassador, in state, and names it {inspection}.
func matrixFreshInspection(state string, forDelete bool) func(t *testing.T, f *matrixFixture) map[string]string {
	return func(t *testing.T, f *matrixFixture) map[string]string {
		id := f.NewID()
		f.Exec(t, `INSERT INTO inspections (id, project_id, building_id, unit_id, kind, inspector_id, state)
			SELECT ?, u.project_id, u.building_id, u.id, 'pre_handover', users.id, ?
			FROM units u, users WHERE u.id = ? AND users.username = 'ambassador'`, id, state, f.IDs["unit"])
		if forDelete {
			id += "?version=1"
		}
		return map[string]string{"inspection": id}
	}
}

// Authorization matrix rows of checklist templates and inspections. Guards see none of
// it (403). Unit, zone and project ids in a body that the caller cannot see answer 422.
// A draft is visible only to its author (the ambassador here): other members get 404.
func init() {
	hidden := http.StatusUnprocessableEntity
	readers := []string{"admin", "supervisor", "ambassador", "engineer"}
	withHidden := func(w map[string]int) map[string]int {
		w["outsider"], w["foreign_admin"] = hidden, hidden
		return w
	}
	// draftOnly: the ambassador's draft; only the ambassador gets ok.
	draftOnly := func(ok int) map[string]int {
		return map[string]int{"admin": 404, "supervisor": 404, "ambassador": ok, "engineer": 404, "guard": 403,
			"outsider": 404, "foreign_admin": 404, "anonymous": 401}
	}
	orgWideRead := map[string]int{"admin": 200, "supervisor": 200, "ambassador": 200, "engineer": 200, "guard": 403,
		"outsider": 200, "foreign_admin": 404, "anonymous": 401}
	templateBody := func(withProject bool) func(*matrixFixture) any {
		return func(*matrixFixture) any {
			b := map[string]any{"name": "Matrix checklist {n}", "kinds": []any{"pre_handover"}, "sections": matrixSections()}
			if withProject {
				b["project_id"] = "{project}"
			}
			return b
		}
	}
	renamed := func(*matrixFixture) any { return map[string]any{"version": 1, "name": "Renamed {n}"} }
	inspectionBody := func(place, kind string) func(*matrixFixture) any {
		return func(*matrixFixture) any { return map[string]any{place + "_id": "{" + place + "}", "kind": kind} }
	}

	addMatrix(
		// Templates.
		matrixCase{
			Name: "inspections templates create for project", Method: "POST", Path: "/v1/checklist-templates",
			Body: templateBody(true), Want: withHidden(allow(http.StatusCreated, "admin")),
		},
		matrixCase{
			Name: "inspections templates create organization-wide", Method: "POST", Path: "/v1/checklist-templates",
			Body: templateBody(false),
			Want: map[string]int{"admin": 201, "supervisor": 403, "ambassador": 403, "engineer": 403, "guard": 403,
				"outsider": 403, "foreign_admin": 201, "anonymous": 401},
		},
		matrixCase{
			Name: "inspections templates list of project", Method: "GET", Path: "/v1/checklist-templates?project_id={project}",
			Want: allow(http.StatusOK, readers...),
		},
		matrixCase{
			Name: "inspections templates list organization-wide", Method: "GET", Path: "/v1/checklist-templates",
			Want: map[string]int{"admin": 200, "supervisor": 200, "ambassador": 200, "engineer": 200, "guard": 403,
				"outsider": 200, "foreign_admin": 200, "anonymous": 401},
		},
		matrixCase{
			Name: "inspections templates get of project", Method: "GET", Path: "/v1/checklist-templates/{checklist-template}",
			Setup: matrixFreshTemplate(false, false), Want: allow(http.StatusOK, readers...),
		},
		matrixCase{
			Name: "inspections templates get organization-wide", Method: "GET", Path: "/v1/checklist-templates/{checklist-template}",
			Setup: matrixFreshTemplate(true, false), Want: orgWideRead,
		},
		matrixCase{
			Name: "inspections templates revision", Method: "GET", Path: "/v1/checklist-templates/{checklist-template}/revisions/{revision}",
			Setup: matrixFreshTemplate(false, false), Want: allow(http.StatusOK, readers...),
		},
		matrixCase{
			Name: "inspections templates update of project", Method: "PATCH", Path: "/v1/checklist-templates/{checklist-template}",
			Setup: matrixFreshTemplate(false, false), Body: renamed, Want: allow(http.StatusOK, "admin"),
		},
		matrixCase{
			Name: "inspections templates update organization-wide", Method: "PATCH", Path: "/v1/checklist-templates/{checklist-template}",
			Setup: matrixFreshTemplate(true, false), Body: renamed,
			Want: map[string]int{"admin": 200, "supervisor": 403, "ambassador": 403, "engineer": 403, "guard": 403,
				"outsider": 403, "foreign_admin": 404, "anonymous": 401},
		},
		matrixCase{
			Name: "inspections templates delete", Method: "DELETE", Path: "/v1/checklist-templates/{checklist-template}",
			Setup: matrixFreshTemplate(false, true), Want: allow(http.StatusNoContent, "admin"),
		},

		// Inspections.
		matrixCase{
			Name: "inspections create pre-handover", Method: "POST", Path: "/v1/inspections",
			Body: inspectionBody("unit", "pre_handover"),
			Want: withHidden(allow(http.StatusCreated, "admin", "supervisor", "ambassador")),
		},
		matrixCase{
			Name: "inspections create one-year check", Method: "POST", Path: "/v1/inspections",
			Body: inspectionBody("unit", "one_year_check"),
			Want: withHidden(allow(http.StatusCreated, readers...)),
		},
		matrixCase{
			Name: "inspections create site acceptance", Method: "POST", Path: "/v1/inspections",
			Body: inspectionBody("zone", "site_acceptance"),
			Want: withHidden(allow(http.StatusCreated, readers...)),
		},
		matrixCase{
			Name: "inspections list of project", Method: "GET", Path: "/v1/inspections?project_id={project}",
			Want: allow(http.StatusOK, readers...),
		},
		matrixCase{
			Name: "inspections get submitted", Method: "GET", Path: "/v1/inspections/{inspection}",
			Setup: matrixFreshInspection("submitted", false), Want: allow(http.StatusOK, readers...),
		},
		matrixCase{
			Name: "inspections get draft", Method: "GET", Path: "/v1/inspections/{inspection}",
			Setup: matrixFreshInspection("draft", false), Want: draftOnly(http.StatusOK),
		},
		matrixCase{
			Name: "inspections update draft", Method: "PATCH", Path: "/v1/inspections/{inspection}",
			Setup: matrixFreshInspection("draft", false),
			Body:  func(*matrixFixture) any { return map[string]any{"version": 1, "notes": "Matrix {n}"} },
			Want:  draftOnly(http.StatusOK),
		},
		matrixCase{
			Name: "inspections submit draft", Method: "POST", Path: "/v1/inspections/{inspection}/submit",
			Setup: matrixFreshInspection("draft", false),
			Body:  func(*matrixFixture) any { return map[string]any{"version": 1} },
			Want:  draftOnly(http.StatusOK),
		},
		matrixCase{
			Name: "inspections close submitted", Method: "POST", Path: "/v1/inspections/{inspection}/close",
			Setup: matrixFreshInspection("submitted", false),
			Body:  func(*matrixFixture) any { return map[string]any{"version": 1} },
			Want:  allow(http.StatusOK, "admin", "supervisor", "ambassador"),
		},
		matrixCase{
			Name: "inspections delete draft", Method: "DELETE", Path: "/v1/inspections/{inspection}",
			Setup: matrixFreshInspection("draft", true), Want: draftOnly(http.StatusNoContent),
		},
	)
}
