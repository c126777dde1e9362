package api_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
)

func init() {
	orgAdmins := allow(http.StatusOK, "admin", "foreign_admin")
	orgAdmins["outsider"] = http.StatusForbidden
	addMatrix(matrixCase{
		Name: "defects put category", Method: "PUT", Path: "/v1/defect-categories/{code}",
		Setup: func(_ *testing.T, f *matrixFixture) map[string]string {
			return map[string]string{"code": fmt.Sprintf("matrix_%d", f.n.Add(1))}
		},
		Body: func(*matrixFixture) any { return map[string]any{"label_en": "Matrix", "label_zh": "矩阵"} },
		Want: orgAdmins,
	})
}

// An organization adds its own defect category (and changes a built-in one for itself):
// its staff see it and can use it at once; another organization sees nothing of it.
func TestDefectCategoriesOfAnOrganization(t *testing.T) {
	env := apitest.New(t)
	admin := newPhone(t, env, "admin")
	ambassador := newPhone(t, env, "ambassador")

	put := func(p *phone, status int, code string, body map[string]any) map[string]any {
		t.Helper()
		return p.mustDo(t, status, "PUT", "/v1/defect-categories/"+code, body)
	}
	got := put(admin, http.StatusOK, "waterproofing", map[string]any{"label_en": "Waterproofing", "label_zh": "防水", "counts_as_leak": true, "position": 15})
	if got["code"] != "waterproofing" || got["counts_as_leak"] != true {
		t.Fatalf("put: %v", got)
	}
	put(admin, http.StatusOK, "leakage", map[string]any{"label_en": "Water ingress", "label_zh": "渗水", "counts_as_leak": true, "position": 10})

	labels := map[string]any{}
	for _, c := range ambassador.list(t, "/v1/defect-categories") {
		labels[c["code"].(string)] = c["label_en"]
	}
	if labels["waterproofing"] != "Waterproofing" || labels["leakage"] != "Water ingress" || labels["floors"] != "Floors" {
		t.Fatalf("the ambassador's categories: %v", labels)
	}
	ambassador.mustDo(t, http.StatusCreated, "POST", "/v1/defects", map[string]any{
		"id": uuid.Must(uuid.NewV7()).String(), "unit_id": demoUnit(t, env), "category": "waterproofing", "severity": "major",
		"description": "balcony membrane lifted",
	})

	// The built-in row is untouched: other organizations keep it.
	var builtIn string
	if err := env.DB.Gorm(t.Context()).Raw(`SELECT label_en FROM defect_categories WHERE organization_id IS NULL AND code = 'leakage'`).Scan(&builtIn).Error; err != nil || builtIn != "Leakage" {
		t.Fatalf("built-in leakage: %q, %v", builtIn, err)
	}
	// Bad input writes nothing; only organization admins may change categories.
	before := env.Snapshot(t, "defect_categories")
	put(admin, http.StatusUnprocessableEntity, "other2", map[string]any{"label_en": "", "label_zh": "其他2"})
	res := admin.env.Do(t, apitest.Req{Method: "PUT", Path: admin.base + "/v1/defect-categories/Bad-Code", Token: admin.token,
		Body: map[string]any{"label_en": "x", "label_zh": "x"}, RawInvalid: true})
	if res.Status != http.StatusUnprocessableEntity || !res.Problem(t).HasField("code") {
		t.Fatalf("a bad code: %d %s", res.Status, res.Body)
	}
	put(newPhone(t, env, "supervisor"), http.StatusForbidden, "anything", map[string]any{"label_en": "x", "label_zh": "x"})
	env.Unchanged(t, before)
}
