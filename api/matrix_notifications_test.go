package api_test

import (
	"net/http"
	"testing"
)

// freshEngineerDevice registers a phone of the demo engineer as {device_id}; {new_device}
// is an id nobody has used.
func freshEngineerDevice(t *testing.T, f *matrixFixture) map[string]string {
	id := "matrix-device-" + f.NewID()
	f.Exec(t, `INSERT INTO devices (device_id, user_id, token, platform, locale) VALUES (?, ?, ?, 'android', 'en')`, id, f.IDs["user"], "tok-"+id)
	return map[string]string{"device_id": id, "new_device": "matrix-device-" + f.NewID()}
}

// Authorization matrix rows of devices and the inbox: every signed-in user has their
// own, whatever their projects; nobody reaches anyone else's.
func init() {
	everyone := func(ok int) map[string]int {
		return map[string]int{"admin": ok, "supervisor": ok, "ambassador": ok, "engineer": ok, "guard": ok,
			"outsider": ok, "foreign_admin": ok, "anonymous": http.StatusUnauthorized}
	}
	// Only the engineer owns {device_id}: everyone else's DELETE finds no device of theirs.
	onlyEngineer := everyone(http.StatusNotFound)
	onlyEngineer["engineer"] = http.StatusNoContent
	addMatrix(
		matrixCase{
			Name: "devices put", Method: "PUT", Path: "/v1/devices/{device_id}", Setup: func(t *testing.T, f *matrixFixture) map[string]string {
				return map[string]string{"device_id": freshEngineerDevice(t, f)["new_device"]}
			},
			Body: func(*matrixFixture) any {
				return map[string]any{"token": "tok-{device_id}", "platform": "ios", "locale": "zh-CN", "app_version": "1.0.0"}
			},
			Want: everyone(http.StatusCreated),
		},
		matrixCase{
			Name: "devices delete", Method: "DELETE", Path: "/v1/devices/{device_id}", Setup: freshEngineerDevice,
			Want: onlyEngineer,
		},
		matrixCase{
			Name: "notifications list", Method: "GET", Path: "/v1/notifications",
			Want: everyone(http.StatusOK),
		},
		matrixCase{
			Name: "notifications read", Method: "POST", Path: "/v1/notifications/read",
			Body: func(*matrixFixture) any { return map[string]any{"up_to": "ffffffff-ffff-7fff-bfff-ffffffffffff"} },
			Want: everyone(http.StatusOK),
		},
	)
}
