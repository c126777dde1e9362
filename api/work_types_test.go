package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
)

func init() {
	orgAdmins := allow(http.StatusOK, "admin", "foreign_admin")
	orgAdmins["outsider"] = http.StatusForbidden
	addMatrix(matrixCase{
		Name: "workorders put work type", Method: "PUT", Path: "/v1/work-types/{code}",
		Setup: func(_ *testing.T, f *matrixFixture) map[string]string {
			return map[string]string{"code": fmt.Sprintf("matrix_%d", f.n.Add(1))}
		},
		Body: func(*matrixFixture) any { return map[string]any{"label_en": "Matrix", "label_zh": "矩阵"} },
		Want: orgAdmins,
	})
}

// Work types are extendable: an organization adds its own, its supervisors give it an SLA
// policy and log work orders of it.
func TestWorkTypesOfAnOrganization(t *testing.T) {
	env := apitest.New(t)
	admin := newPhone(t, env, "admin")
	supervisor := newPhone(t, env, "supervisor")
	project := env.Demo.ProjectID.String()

	got := admin.mustDo(t, http.StatusOK, "PUT", "/v1/work-types/pest_control", map[string]any{"label_en": "Pest control", "label_zh": "除虫", "position": 50})
	if got["code"] != "pest_control" || got["label_zh"] != "除虫" {
		t.Fatalf("put: %v", got)
	}
	codes := map[string]bool{}
	for _, wt := range supervisor.list(t, "/v1/work-types") {
		codes[wt["code"].(string)] = true
	}
	if !codes["pest_control"] || !codes["repair"] {
		t.Fatalf("work types: %v", codes)
	}
	supervisor.mustDo(t, http.StatusOK, "PUT", "/v1/projects/"+project+"/sla-policies/pest_control/normal", map[string]any{
		"version": 0, "targets": []any{map[string]any{"code": "on_site", "from": "created", "to": "on_site", "minutes": 240}},
	})
	supervisor.mustDo(t, http.StatusCreated, "POST", "/v1/work-orders", map[string]any{
		"project_id": project, "unit_id": demoUnit(t, env), "work_type": "pest_control", "source": "hotline", "priority": "normal",
		"title": "Cockroaches in the bin room",
	})

	before := env.Snapshot(t, "work_types")
	admin.mustDo(t, http.StatusUnprocessableEntity, "PUT", "/v1/work-types/pruning", map[string]any{"label_en": "Pruning", "label_zh": ""})
	supervisor.mustDo(t, http.StatusForbidden, "PUT", "/v1/work-types/pruning", map[string]any{"label_en": "Pruning", "label_zh": "修剪"})
	env.Unchanged(t, before)
}
