package api_test

import "net/http"

// Authorization matrix row of the offline pull: every signed-in user may pull; what
// they get is their own scope (an outsider's is empty), tested in sync_pull_test.go.
func init() {
	addMatrix(matrixCase{
		Name: "sync pull", Method: "GET", Path: "/v1/sync/pull?limit=50",
		Want: map[string]int{"admin": http.StatusOK, "supervisor": http.StatusOK, "ambassador": http.StatusOK, "engineer": http.StatusOK,
			"guard": http.StatusOK, "outsider": http.StatusOK, "foreign_admin": http.StatusOK, "anonymous": http.StatusUnauthorized},
	})
}
