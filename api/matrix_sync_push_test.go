package api_test

import (
	"net/http"
	"testing"
)

// Authorization matrix row of the offline push: every signed-in user may push (each
// change is then checked as the API would); an empty batch answers an empty result.
func init() {
	want := map[string]int{"admin": http.StatusOK, "supervisor": http.StatusOK, "ambassador": http.StatusOK, "engineer": http.StatusOK,
		"guard": http.StatusOK, "outsider": http.StatusOK, "foreign_admin": http.StatusOK, "anonymous": http.StatusUnauthorized}
	addMatrix(matrixCase{
		Name: "sync push", Method: "POST", Path: "/v1/sync/push",
		Setup: func(_ *testing.T, f *matrixFixture) map[string]string {
			return map[string]string{"device": "matrix-" + f.NewID()}
		},
		Body: func(*matrixFixture) any { return map[string]any{"device_id": "{device}", "changes": []any{}} },
		Want: want,
	})
}
