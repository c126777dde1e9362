package api_test

import (
	"net/http"
	"testing"
)

// Authorization matrix rows of the org area: reads are open to every member of the
// object's project, writes to its admins (the organization admin is admin of every
// project of the organization), and creating a project to organization admins.
func init() {
	orgAdminOnly := map[string]int{"admin": 201, "supervisor": 403, "ambassador": 403, "engineer": 403, "guard": 403,
		"outsider": 403, "foreign_admin": 201, "anonymous": 401}
	everyone := map[string]int{"admin": 200, "supervisor": 200, "ambassador": 200, "engineer": 200, "guard": 200,
		"outsider": 200, "foreign_admin": 200, "anonymous": 401}
	renamed := func(*matrixFixture) any { return map[string]any{"version": 1, "name": "Renamed {n}"} }

	addMatrix(
		// Projects.
		matrixCase{Name: "org projects list", Method: "GET", Path: "/v1/projects", Want: everyone},
		matrixCase{
			Name: "org projects create", Method: "POST", Path: "/v1/projects",
			Body: func(*matrixFixture) any { return map[string]any{"code": "MX{n}", "name": "Matrix project"} },
			Want: orgAdminOnly,
		},
		matrixCase{Name: "org projects get", Method: "GET", Path: "/v1/projects/{project}", Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "org projects update", Method: "PATCH", Path: "/v1/projects/{project}",
			Setup: matrixFreshOrg("project", false), Body: renamed,
			Want: allow(http.StatusOK, "admin"),
		},
		matrixCase{
			Name: "org projects delete", Method: "DELETE", Path: "/v1/projects/{project}",
			Setup: matrixFreshOrg("project", true),
			Want:  allow(http.StatusNoContent, "admin"),
		},

		// Buildings.
		matrixCase{
			Name: "org buildings create", Method: "POST", Path: "/v1/projects/{project}/buildings",
			Body: func(*matrixFixture) any { return map[string]any{"code": "MX{n}", "name": "Matrix tower", "floors": 3} },
			Want: allow(http.StatusCreated, "admin"),
		},
		matrixCase{Name: "org buildings list", Method: "GET", Path: "/v1/projects/{project}/buildings", Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "org buildings get", Method: "GET", Path: "/v1/buildings/{building}", Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "org buildings update", Method: "PATCH", Path: "/v1/buildings/{building}",
			Setup: matrixFreshOrg("building", false), Body: renamed,
			Want: allow(http.StatusOK, "admin"),
		},
		matrixCase{
			Name: "org buildings delete", Method: "DELETE", Path: "/v1/buildings/{building}",
			Setup: matrixFreshOrg("building", true),
			Want:  allow(http.StatusNoContent, "admin"),
		},

		// Unit types.
		matrixCase{
			Name: "org unit types create", Method: "POST", Path: "/v1/projects/{project}/unit-types",
			Body: func(*matrixFixture) any {
				return map[string]any{"code": "MX{n}", "name": "Matrix type", "rooms": []any{map[string]any{"code": "living", "name": "Living room"}}}
			},
			Want: allow(http.StatusCreated, "admin"),
		},
		matrixCase{Name: "org unit types list", Method: "GET", Path: "/v1/projects/{project}/unit-types", Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "org unit types get", Method: "GET", Path: "/v1/unit-types/{unit_type}", Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "org unit types update", Method: "PATCH", Path: "/v1/unit-types/{unit_type}",
			Setup: matrixFreshOrg("unit_type", false), Body: renamed,
			Want: allow(http.StatusOK, "admin"),
		},
		matrixCase{
			Name: "org unit types delete", Method: "DELETE", Path: "/v1/unit-types/{unit_type}",
			Setup: matrixFreshOrg("unit_type", true),
			Want:  allow(http.StatusNoContent, "admin"),
		},

		// Units.
		matrixCase{
			Name: "org units create", Method: "POST", Path: "/v1/buildings/{building}/units",
			Body: func(*matrixFixture) any { return map[string]any{"number": "MX{n}", "floor": 1} },
			Want: allow(http.StatusCreated, "admin"),
		},
		matrixCase{Name: "org units list of building", Method: "GET", Path: "/v1/buildings/{building}/units", Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "org units list of project", Method: "GET", Path: "/v1/projects/{project}/units", Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "org units import", Method: "POST", Path: "/v1/projects/{project}/units/import",
			Headers: map[string]string{"Content-Type": "text/csv"},
			Body:    func(*matrixFixture) any { return "building,number,floor\nB1,IMX{n},1\n" },
			Want:    allow(http.StatusOK, "admin"),
		},
		matrixCase{Name: "org units get", Method: "GET", Path: "/v1/units/{unit}", Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "org units update", Method: "PATCH", Path: "/v1/units/{unit}",
			Setup: matrixFreshOrg("unit", false),
			Body:  func(*matrixFixture) any { return map[string]any{"version": 1, "handover_date": "2026-06-30"} },
			Want:  allow(http.StatusOK, "admin"),
		},
		matrixCase{
			Name: "org units delete", Method: "DELETE", Path: "/v1/units/{unit}",
			Setup: matrixFreshOrg("unit", true),
			Want:  allow(http.StatusNoContent, "admin"),
		},

		// Zones.
		matrixCase{
			Name: "org zones create", Method: "POST", Path: "/v1/projects/{project}/zones",
			Body: func(*matrixFixture) any {
				return map[string]any{"code": "MX{n}", "name": "Matrix zone", "kind": "site"}
			},
			Want: allow(http.StatusCreated, "admin"),
		},
		matrixCase{Name: "org zones list", Method: "GET", Path: "/v1/projects/{project}/zones", Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "org zones get", Method: "GET", Path: "/v1/zones/{zone}", Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "org zones update", Method: "PATCH", Path: "/v1/zones/{zone}",
			Setup: matrixFreshOrg("zone", false), Body: renamed,
			Want: allow(http.StatusOK, "admin"),
		},
		matrixCase{
			Name: "org zones delete", Method: "DELETE", Path: "/v1/zones/{zone}",
			Setup: matrixFreshOrg("zone", true),
			Want:  allow(http.StatusNoContent, "admin"),
		},
	)
}

// matrixFreshOrg makes a new record of kind (project, building, unit_type, unit, zone)
// in Demo Garden for each request and puts its id in the placeholder of that name, so
// no PATCH or DELETE changes the fixture's records. A fresh project gets Demo Garden's
// members with their roles. For a DELETE the placeholder also carries ?version=1 (the
// matrix path itself stays the spec's path).
func matrixFreshOrg(kind string, forDelete bool) func(t *testing.T, f *matrixFixture) map[string]string {
	return func(t *testing.T, f *matrixFixture) map[string]string {
		id := f.NewID()
		code := "MX" + id[len(id)-12:]
		switch kind {
		case "project":
			f.Exec(t, `INSERT INTO projects (id, organization_id, code, name) SELECT ?, organization_id, ?, 'Matrix project' FROM projects WHERE id = ?`, id, code, f.IDs["project"])
			f.Exec(t, `INSERT INTO project_members (project_id, user_id, role) SELECT ?, user_id, role FROM project_members WHERE project_id = ?`, id, f.IDs["project"])
		case "building":
			f.Exec(t, `INSERT INTO buildings (id, project_id, code, name, floors) VALUES (?, ?, ?, 'Matrix tower', 3)`, id, f.IDs["project"], code)
		case "unit_type":
			f.Exec(t, `INSERT INTO unit_types (id, project_id, code, name) VALUES (?, ?, ?, 'Matrix type')`, id, f.IDs["project"], code)
			f.Exec(t, `INSERT INTO unit_type_rooms (id, unit_type_id, code, name, position) VALUES (?, ?, 'living', 'Living room', 0)`, f.NewID(), id)
		case "unit":
			f.Exec(t, `INSERT INTO units (id, project_id, building_id, number, floor) VALUES (?, ?, ?, ?, 1)`, id, f.IDs["project"], f.IDs["building"], code)
		case "zone":
			f.Exec(t, `INSERT INTO zones (id, project_id, code, name, kind) VALUES (?, ?, ?, 'Matrix zone', 'site')`, id, f.IDs["project"], code)
		default:
			t.Fatalf("matrixFreshOrg: unknown kind %q", kind)
		}
		if forDelete {
			id += "?version=1"
		}
		return map[string]string{kind: id}
	}
}
