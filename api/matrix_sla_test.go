package api_test

import (
	"net/http"
	"testing"
)

// matrixFreshSLAProject is a fresh project (with Demo Garden's members) named {project},
// with the pair repair/normal as {work_type}/{priority}; withPolicy stores version 1 of
// its policy first.
func matrixFreshSLAProject(withPolicy bool) func(t *testing.T, f *matrixFixture) map[string]string {
	return func(t *testing.T, f *matrixFixture) map[string]string {
		ids := matrixFreshOrg("project", false)(t, f)
		if withPolicy {
			f.Exec(t, `INSERT INTO sla_policies (id, project_id, work_type, priority, targets) VALUES (?, ?, 'repair', 'normal',
				'[{"code": "on_site", "from": "created", "to": "on_site", "minutes": 60, "business_hours": false, "warn_share": 0.75, "escalate_every_minutes": 30}]')`,
				f.NewID(), ids["project"])
		}
		ids["work_type"], ids["priority"] = "repair", "normal"
		return ids
	}
}

// Authorization matrix rows of the SLA area: every member reads the project's policies
// and calendar; project admins and supervisors set them; a work order's clocks are for
// them and its owner.
func init() {
	one := "/v1/projects/{project}/sla-policies/{work_type}/{priority}"
	pair := func(*testing.T, *matrixFixture) map[string]string {
		return map[string]string{"work_type": "complaint", "priority": "urgent"}
	}
	addMatrix(
		matrixCase{Name: "sla policies list", Method: "GET", Path: "/v1/projects/{project}/sla-policies", Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "sla policies get", Method: "GET", Path: one, Setup: pair, Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "sla policies put", Method: "PUT", Path: one, Setup: matrixFreshSLAProject(false),
			Body: func(*matrixFixture) any {
				return map[string]any{"version": 0, "targets": []map[string]any{{"code": "on_site", "from": "created", "to": "on_site", "minutes": 90}}}
			},
			Want: allow(http.StatusOK, "admin", "supervisor"),
		},
		matrixCase{Name: "sla policies delete", Method: "DELETE", Path: one + "?version=1", Setup: matrixFreshSLAProject(true), Want: allow(http.StatusNoContent, "admin", "supervisor")},
		matrixCase{Name: "sla calendar get", Method: "GET", Path: "/v1/projects/{project}/calendar", Want: allow(http.StatusOK, members...)},
		matrixCase{
			Name: "sla calendar put", Method: "PUT", Path: "/v1/projects/{project}/calendar", Setup: matrixFreshSLAProject(false),
			Body: func(*matrixFixture) any {
				return map[string]any{"version": 0, "week": map[string]any{"mon": [][]string{{"09:00", "18:00"}}}}
			},
			Want: allow(http.StatusOK, "admin", "supervisor"),
		},
		matrixCase{Name: "sla work order", Method: "GET", Path: "/v1/work-orders/{work-order}/sla", Setup: matrixFreshWorkOrder("assigned"),
			Want: allow(http.StatusOK, "admin", "supervisor", "engineer")},
	)
}
