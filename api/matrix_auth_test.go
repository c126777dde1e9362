package api_test

import (
	"net/http"
	"testing"
)

// Authorization matrix rows of the auth/users area (GET /v1/me is in matrix_test.go).
func init() {
	// Organization-wide administration: only organization admins, each within their own
	// organization. Not project-scoped, so outsiders get 403 like other members.
	orgAdminOnly := func(ok, foreign int) map[string]int {
		return map[string]int{"admin": ok, "supervisor": 403, "ambassador": 403, "engineer": 403, "guard": 403,
			"outsider": 403, "foreign_admin": foreign, "anonymous": 401}
	}
	addMatrix(
		matrixCase{
			Name: "users create", Method: "POST", Path: "/v1/users",
			Body: func(*matrixFixture) any {
				return map[string]any{"display_name": "Matrix {n}", "username": "matrix{n}", "password": "matrix-password"}
			},
			Want: orgAdminOnly(http.StatusCreated, http.StatusCreated),
		},
		matrixCase{
			Name: "users list", Method: "GET", Path: "/v1/users",
			Want: orgAdminOnly(http.StatusOK, http.StatusOK),
		},
		matrixCase{
			Name: "users get", Method: "GET", Path: "/v1/users/{user}",
			Want: orgAdminOnly(http.StatusOK, http.StatusNotFound),
		},
		matrixCase{
			Name: "users update", Method: "PATCH", Path: "/v1/users/{user}",
			Setup: matrixFreshUser(false),
			Body: func(*matrixFixture) any {
				return map[string]any{"version": 1, "display_name": "Renamed {n}"}
			},
			Want: orgAdminOnly(http.StatusOK, http.StatusNotFound),
		},
		matrixCase{
			Name: "members list", Method: "GET", Path: "/v1/projects/{project}/members",
			Want: allow(http.StatusOK, "admin", "supervisor"),
		},
		matrixCase{
			Name: "members set roles", Method: "PUT", Path: "/v1/projects/{project}/members/{user}",
			Setup: matrixFreshUser(false),
			Body:  func(*matrixFixture) any { return map[string]any{"roles": []any{"guard"}} },
			Want:  allow(http.StatusOK, "admin"),
		},
		matrixCase{
			Name: "members remove", Method: "DELETE", Path: "/v1/projects/{project}/members/{user}",
			Setup: matrixFreshUser(true),
			Want:  allow(http.StatusNoContent, "admin"),
		},
	)
}

// matrixFreshUser makes a new user of Demo Property Group for each request (a guard of
// Demo Garden when member is set) and puts it in {user}, so no request changes the
// fixture's own users.
func matrixFreshUser(member bool) func(t *testing.T, f *matrixFixture) map[string]string {
	return func(t *testing.T, f *matrixFixture) map[string]string {
		id := f.NewID()
		f.Exec(t, `INSERT INTO users (id, organization_id, display_name, username, password_hash)
			SELECT ?, organization_id, 'Matrix user', ?, password_hash FROM users WHERE username = 'admin'`, id, "mx"+id[len(id)-12:])
		if member {
			f.Exec(t, `INSERT INTO project_members (project_id, user_id, role) VALUES (?, ?, 'guard')`, f.IDs["project"], id)
		}
		return map[string]string{"user": id}
	}
}
