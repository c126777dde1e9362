package api_test

import (
	"net/http"
	"testing"
)

// freshSignature inserts a pending signature photo of Demo Garden's first unit and
// names it {signature}; {fresh_id} is an unused id for a new sign-off.
func freshSignature(t *testing.T, f *matrixFixture) map[string]string {
	id := f.NewID()
	f.Exec(t, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key)
		SELECT ?, ?, 'unit', ?, 'signature', 'image/png', 1000, decode(repeat('ab', 32), 'hex'), u.id, 'attachments/' || ? || '/original'
		FROM users u WHERE u.username = 'ambassador'`, id, f.IDs["project"], f.IDs["unit"], id)
	return map[string]string{"signature": id, "fresh_id": f.NewID()}
}

// freshSignoff records a sign-off of Demo Garden's first unit with SQL and names it {signoff}.
func freshSignoff(t *testing.T, f *matrixFixture) map[string]string {
	ids := freshSignature(t, f)
	ids["signoff"] = f.NewID()
	f.Exec(t, `INSERT INTO signoffs (id, project_id, unit_id, outcome, buyer_name, signature_attachment_id, recorded_by, snapshot, snapshot_sha256)
		SELECT ?, ?, ?, 'accepted', 'Matrix Buyer', ?, u.id, '[]'::jsonb, sha256('[]'::bytea) FROM users u WHERE u.username = 'ambassador'`,
		ids["signoff"], f.IDs["project"], f.IDs["unit"], ids["signature"])
	return ids
}

// Authorization matrix rows of sign-offs and the handover figures: guards see none of
// it; engineers read sign-offs and counts but not the KPIs; outsiders get 404.
func init() {
	readers := []string{"admin", "supervisor", "ambassador", "engineer"}
	addMatrix(
		matrixCase{
			// Refused, so the row does not depend on the unit's open defects.
			Name: "signoffs create", Method: "POST", Path: "/v1/signoffs", Setup: freshSignature,
			Body: func(*matrixFixture) any {
				return map[string]any{"id": "{fresh_id}", "unit_id": "{unit}", "outcome": "refused", "refusal_reason": "Water stains",
					"buyer_name": "Matrix Buyer", "signature_attachment_id": "{signature}"}
			},
			Want: allow(http.StatusCreated, "admin", "supervisor", "ambassador"),
		},
		matrixCase{Name: "signoffs get", Method: "GET", Path: "/v1/signoffs/{signoff}", Setup: freshSignoff, Want: allow(http.StatusOK, readers...)},
		matrixCase{Name: "signoffs list of unit", Method: "GET", Path: "/v1/units/{unit}/signoffs", Want: allow(http.StatusOK, readers...)},
		matrixCase{Name: "reports defect counts", Method: "GET", Path: "/v1/projects/{project}/defect-counts", Want: allow(http.StatusOK, readers...)},
		matrixCase{
			Name: "reports defect kpis", Method: "GET", Path: "/v1/projects/{project}/defect-kpis?building_id={building}",
			Want: allow(http.StatusOK, "admin", "supervisor", "ambassador"),
		},
	)
}
