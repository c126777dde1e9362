package api_test

import (
	"net/http"
	"strings"
	"testing"
)

// freshAttachment inserts a pending photo of Demo Garden's first unit, asked for by the
// ambassador, and names it {attachment}; {fresh_id} is an unused id for creates.
func freshAttachment(t *testing.T, f *matrixFixture) map[string]string {
	id := f.NewID()
	f.Exec(t, `INSERT INTO attachments (id, project_id, owner_type, owner_id, purpose, content_type, size, sha256, uploaded_by, object_key)
		SELECT ?, ?, 'unit', ?, 'defect_before', 'image/jpeg', 1000, decode(repeat('ab', 32), 'hex'), u.id, 'attachments/' || ? || '/original'
		FROM users u WHERE u.username = 'ambassador'`, id, f.IDs["project"], f.IDs["unit"], id)
	return map[string]string{"attachment": id, "fresh_id": f.NewID()}
}

func init() {
	// Outsiders cannot name a Demo Garden unit as owner: it is not visible to them.
	ownerHidden := http.StatusUnprocessableEntity
	addMatrix(
		matrixCase{
			Name: "attachments create", Method: "POST", Path: "/v1/attachments", Setup: freshAttachment,
			Body: func(*matrixFixture) any {
				return map[string]any{"id": "{fresh_id}", "owner_type": "unit", "owner_id": "{unit}", "purpose": "defect_before",
					"content_type": "image/jpeg", "size": 1000, "sha256": strings.Repeat("cd", 32)}
			},
			Want: map[string]int{"admin": 201, "supervisor": 201, "ambassador": 201, "engineer": 201, "guard": 201,
				"outsider": ownerHidden, "foreign_admin": ownerHidden, "anonymous": 401},
		},
		matrixCase{
			Name: "attachments list", Method: "GET", Path: "/v1/attachments?owner_type=unit&owner_id={unit}",
			Want: allow(http.StatusOK, members...),
		},
		matrixCase{
			Name: "attachments get", Method: "GET", Path: "/v1/attachments/{attachment}", Setup: freshAttachment,
			Want: allow(http.StatusOK, members...),
		},
		matrixCase{
			Name: "attachments purge", Method: "DELETE", Path: "/v1/attachments/{attachment}", Setup: freshAttachment,
			Want: allow(http.StatusNoContent, "admin"),
		},
		matrixCase{
			// Those allowed get past the check and find nothing uploaded yet.
			Name: "attachments complete", Method: "POST", Path: "/v1/attachments/{attachment}/complete", Setup: freshAttachment,
			Want: allow(http.StatusConflict, "admin", "supervisor", "ambassador"),
		},
	)
}
