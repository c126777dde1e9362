package api_test

import (
	"net/http"
	"testing"
)

// matrixFreshDefect inserts, for each request, a defect of Demo Garden's first unit
// reported by the ambassador, in status (owned by the engineer unless it is open),
// and names it {defect}.
func matrixFreshDefect(status string) func(t *testing.T, f *matrixFixture) map[string]string {
	return func(t *testing.T, f *matrixFixture) map[string]string {
		id := f.NewID()
		owner := "NULL"
		if status != "open" {
			owner = "(SELECT id FROM users WHERE username = 'engineer')"
		}
		f.Exec(t, `INSERT INTO defects (id, project_id, building_id, unit_id, category, severity, description, status, reported_by, owner_id)
			SELECT ?, u.project_id, u.building_id, u.id, 'leakage', 'major', 'Matrix defect', ?, r.id, `+owner+`
			FROM units u, users r WHERE u.id = ? AND r.username = 'ambassador'`, id, status, f.IDs["unit"])
		return map[string]string{"defect": id}
	}
}

// Authorization matrix rows of the defect area: guards see nothing of handover work;
// reference data is open to everyone signed in.
func init() {
	everyone := map[string]int{"admin": 200, "supervisor": 200, "ambassador": 200, "engineer": 200, "guard": 200,
		"outsider": 200, "foreign_admin": 200, "anonymous": 401}
	readers := []string{"admin", "supervisor", "ambassador", "engineer"}
	// Outsiders cannot name a Demo Garden unit: it is not visible to them.
	createWant := allow(http.StatusCreated, readers...)
	createWant["outsider"], createWant["foreign_admin"] = http.StatusUnprocessableEntity, http.StatusUnprocessableEntity
	open := matrixFreshDefect("open")

	addMatrix(
		matrixCase{Name: "defects categories", Method: "GET", Path: "/v1/defect-categories", Want: everyone},
		matrixCase{Name: "defects severities", Method: "GET", Path: "/v1/defect-severities", Want: everyone},
		matrixCase{Name: "defects rules get", Method: "GET", Path: "/v1/projects/{project}/defect-rules", Want: allow(http.StatusOK, readers...)},
		matrixCase{
			Name: "defects rules put", Method: "PUT", Path: "/v1/projects/{project}/defect-rules",
			Setup: matrixFreshOrg("project", false),
			Body: func(*matrixFixture) any {
				return map[string]any{"version": 0, "due_hours": map[string]any{"critical": 12}, "due_before_handover": true}
			},
			Want: allow(http.StatusOK, "admin", "supervisor"),
		},
		matrixCase{
			Name: "defects create", Method: "POST", Path: "/v1/defects",
			Body: func(*matrixFixture) any {
				return map[string]any{"unit_id": "{unit}", "category": "leakage", "severity": "major", "description": "Matrix {n}"}
			},
			Want: createWant,
		},
		matrixCase{Name: "defects list", Method: "GET", Path: "/v1/defects?project_id={project}", Want: allow(http.StatusOK, readers...)},
		matrixCase{Name: "defects export", Method: "GET", Path: "/v1/defects/export?project_id={project}", Want: allow(http.StatusOK, "admin", "supervisor")},
		matrixCase{Name: "defects get", Method: "GET", Path: "/v1/defects/{defect}", Setup: open, Want: allow(http.StatusOK, readers...)},
		matrixCase{
			Name: "defects update", Method: "PATCH", Path: "/v1/defects/{defect}", Setup: open,
			Body: func(*matrixFixture) any { return map[string]any{"version": 1, "description": "Edited {n}"} },
			Want: allow(http.StatusOK, "admin", "supervisor", "ambassador"),
		},
		matrixCase{
			Name: "defects transitions assign", Method: "POST", Path: "/v1/defects/{defect}/transitions", Setup: open,
			Body: func(*matrixFixture) any {
				return map[string]any{"version": 1, "action": "assign", "owner_id": "{user}"}
			},
			Want: allow(http.StatusOK, "admin", "supervisor", "ambassador"),
		},
		matrixCase{
			Name: "defects transitions accept", Method: "POST", Path: "/v1/defects/{defect}/transitions", Setup: matrixFreshDefect("assigned"),
			Body: func(*matrixFixture) any { return map[string]any{"version": 1, "action": "accept"} },
			Want: allow(http.StatusOK, "engineer"),
		},
		matrixCase{
			Name: "defects transitions cancel", Method: "POST", Path: "/v1/defects/{defect}/transitions", Setup: open,
			Body: func(*matrixFixture) any {
				return map[string]any{"version": 1, "action": "cancel", "reason": "Duplicate"}
			},
			Want: allow(http.StatusOK, "admin", "supervisor"),
		},
		matrixCase{Name: "defects history", Method: "GET", Path: "/v1/defects/{defect}/history", Setup: open, Want: allow(http.StatusOK, readers...)},
		matrixCase{Name: "defects comments list", Method: "GET", Path: "/v1/defects/{defect}/comments", Setup: open, Want: allow(http.StatusOK, readers...)},
		matrixCase{
			Name: "defects comments create", Method: "POST", Path: "/v1/defects/{defect}/comments", Setup: open,
			Body: func(*matrixFixture) any { return map[string]any{"body": "Matrix comment {n}"} },
			Want: allow(http.StatusCreated, readers...),
		},
	)
}
