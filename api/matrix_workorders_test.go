package api_test

import (
	"net/http"
	"testing"
)

// matrixFreshWorkOrder inserts, for each request, a hotline work order of Demo Garden
// in status (owned by the engineer unless it is new), and names it {work-order}; the
// ambassador's id is {ambassador}.
func matrixFreshWorkOrder(status string) func(t *testing.T, f *matrixFixture) map[string]string {
	return func(t *testing.T, f *matrixFixture) map[string]string {
		id := f.NewID()
		owner := "NULL"
		if status != "new" {
			owner = "(SELECT id FROM users WHERE username = 'engineer')"
		}
		f.Exec(t, `INSERT INTO work_orders (id, project_id, work_type, source, priority, title, reporter_name, reporter_phone,
			reported_at, status, owner_id, created_by)
			SELECT ?, ?, 'repair', 'hotline', 'normal', 'Matrix work order', '张三', '13812345678', now(), ?, `+owner+`, s.id
			FROM users s WHERE s.username = 'supervisor'`, id, f.IDs["project"], status)
		var ambassador string
		if err := f.Env.DB.Gorm(t.Context()).Raw(`SELECT id::text FROM users WHERE username = 'ambassador'`).Scan(&ambassador).Error; err != nil {
			t.Fatal(err)
		}
		return map[string]string{"work-order": id, "ambassador": ambassador}
	}
}

// Authorization matrix rows of the work order area: every project member reads work
// orders (the reporter masked) and records them from the field; the hotline and the
// supervisors' commands are for supervisors and project admins; the owner's commands
// for the owner (the engineer in these rows).
func init() {
	everyone := map[string]int{"admin": 200, "supervisor": 200, "ambassador": 200, "engineer": 200, "guard": 200,
		"outsider": 200, "foreign_admin": 200, "anonymous": 401}
	managers := []string{"admin", "supervisor"}
	ownerOrManagers := []string{"admin", "supervisor", "engineer"}
	fresh, assigned := matrixFreshWorkOrder("new"), matrixFreshWorkOrder("assigned")
	create := func(source string) func(*matrixFixture) any {
		return func(*matrixFixture) any {
			return map[string]any{"project_id": "{project}", "unit_id": "{unit}", "work_type": "repair", "source": source,
				"priority": "normal", "title": "Matrix {n}", "reporter_name": "李四", "reporter_phone": "13900001111"}
		}
	}
	command := func(body map[string]any) func(*matrixFixture) any {
		return func(*matrixFixture) any {
			out := map[string]any{"version": 1}
			for k, v := range body {
				out[k] = v
			}
			return out
		}
	}
	const transitions = "/v1/work-orders/{work-order}/transitions"

	addMatrix(
		matrixCase{Name: "workorders types", Method: "GET", Path: "/v1/work-types", Want: everyone},
		matrixCase{Name: "workorders create from the app", Method: "POST", Path: "/v1/work-orders", Body: create("app"),
			Want: allow(http.StatusCreated, members...)},
		matrixCase{Name: "workorders create from the hotline", Method: "POST", Path: "/v1/work-orders", Body: create("hotline"),
			Want: allow(http.StatusCreated, managers...)},
		matrixCase{Name: "workorders list", Method: "GET", Path: "/v1/work-orders?project_id={project}", Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "workorders get", Method: "GET", Path: "/v1/work-orders/{work-order}", Setup: fresh, Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "workorders history", Method: "GET", Path: "/v1/work-orders/{work-order}/history", Setup: fresh,
			Want: allow(http.StatusOK, members...)},
		matrixCase{Name: "workorders update", Method: "PATCH", Path: "/v1/work-orders/{work-order}", Setup: assigned,
			Body: command(map[string]any{"title": "Edited {n}"}), Want: allow(http.StatusOK, ownerOrManagers...)},
		matrixCase{Name: "workorders transitions assign", Method: "POST", Path: transitions, Setup: fresh,
			Body: command(map[string]any{"action": "assign", "owner_id": "{user}"}), Want: allow(http.StatusOK, managers...)},
		matrixCase{Name: "workorders transitions hand over", Method: "POST", Path: transitions, Setup: assigned,
			Body: command(map[string]any{"action": "hand_over", "owner_id": "{ambassador}"}), Want: allow(http.StatusOK, ownerOrManagers...)},
		matrixCase{Name: "workorders transitions accept", Method: "POST", Path: transitions, Setup: assigned,
			Body: command(map[string]any{"action": "accept"}), Want: allow(http.StatusOK, "engineer")},
		matrixCase{Name: "workorders transitions contact", Method: "POST", Path: transitions, Setup: assigned,
			Body: command(map[string]any{"action": "contact"}), Want: allow(http.StatusOK, "engineer")},
		matrixCase{Name: "workorders transitions feedback", Method: "POST", Path: transitions, Setup: assigned,
			Body: command(map[string]any{"action": "feedback"}), Want: allow(http.StatusOK, ownerOrManagers...)},
		matrixCase{Name: "workorders transitions wait", Method: "POST", Path: transitions, Setup: assigned,
			Body: command(map[string]any{"action": "wait", "reason": "Customer away until Monday"}), Want: allow(http.StatusOK, ownerOrManagers...)},
		matrixCase{Name: "workorders transitions resolve", Method: "POST", Path: transitions, Setup: matrixFreshWorkOrder("on_site"),
			Body: command(map[string]any{"action": "resolve", "note": "Replaced the seal"}), Want: allow(http.StatusOK, "engineer")},
		matrixCase{Name: "workorders transitions confirm", Method: "POST", Path: transitions, Setup: matrixFreshWorkOrder("resolved"),
			Body: command(map[string]any{"action": "confirm"}), Want: allow(http.StatusOK, managers...)},
		matrixCase{Name: "workorders transitions cancel", Method: "POST", Path: transitions, Setup: fresh,
			Body: command(map[string]any{"action": "cancel", "reason": "Duplicate"}), Want: allow(http.StatusOK, managers...)},
	)
}
