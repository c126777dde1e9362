package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/storage/postgres"
)

// deviceOwner is the username of the device's user, "" when there is no such device.
func deviceOwner(t *testing.T, env *apitest.Env, deviceID string) (owner, token string) {
	t.Helper()
	var rows []struct{ Username, Token string }
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT u.username, d.token FROM devices d JOIN users u ON u.id = d.user_id WHERE d.device_id = ?`, deviceID).
		Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return "", ""
	}
	return rows[0].Username, rows[0].Token
}

func putDevice(env *apitest.Env, t *testing.T, who, id string, body map[string]any) *apitest.Resp {
	t.Helper()
	return env.Do(t, apitest.Req{Method: "PUT", Path: "/v1/devices/" + id, Token: env.As(t, who), Body: body})
}

func TestDevicesAPI(t *testing.T) {
	env := apitest.New(t)
	phone := map[string]any{"token": "tok-a", "platform": "android", "locale": "en", "app_version": "2.3.0"}

	res := putDevice(env, t, "engineer", "phone-1", phone)
	if res.Status != http.StatusCreated || strings.Contains(string(res.Body), "tok-a") {
		t.Fatalf("register: %d %s (the token must not be shown back)", res.Status, res.Body)
	}
	var d struct {
		DeviceID string `json:"device_id"`
		Provider string `json:"provider"`
	}
	res.JSON(t, &d)
	if d.DeviceID != "phone-1" || d.Provider != "fcm" {
		t.Fatalf("registered %s", res.Body)
	}
	// The app refreshes at every start and when FCM rotates the token.
	refreshed := map[string]any{"token": "tok-a2", "platform": "android", "locale": "zh-CN", "app_version": "2.4.0", "provider": "fcm"}
	if res := putDevice(env, t, "engineer", "phone-1", refreshed); res.Status != http.StatusOK || !strings.Contains(string(res.Body), `"locale":"zh-CN"`) {
		t.Fatalf("refresh: %d %s", res.Status, res.Body)
	}
	if owner, tok := deviceOwner(t, env, "phone-1"); owner != "engineer" || tok != "tok-a2" {
		t.Fatalf("after refresh: %s %s", owner, tok)
	}
	// A shared phone handed to the guard at shift change moves to the guard.
	if res := putDevice(env, t, "guard", "phone-1", map[string]any{"token": "tok-a2", "platform": "android", "locale": "zh-CN"}); res.Status != http.StatusOK {
		t.Fatalf("hand over: %d %s", res.Status, res.Body)
	}
	if owner, _ := deviceOwner(t, env, "phone-1"); owner != "guard" {
		t.Fatalf("phone-1 belongs to %q, want the guard", owner)
	}
	// The same token under a new device id (the app was reinstalled): the old id goes.
	if res := putDevice(env, t, "guard", "phone-1b", map[string]any{"token": "tok-a2", "platform": "android", "locale": "en"}); res.Status != http.StatusCreated {
		t.Fatalf("reinstall: %d %s", res.Status, res.Body)
	}
	if owner, _ := deviceOwner(t, env, "phone-1"); owner != "" {
		t.Fatalf("the token's old device is still there (%s)", owner)
	}

	before := env.Snapshot(t, "devices")
	bad := []struct {
		name   string
		id     string
		body   any
		status int
		fields []string
	}{
		{"every field wrong", "phone-2", map[string]any{"token": " ", "platform": "windows", "locale": "fr", "provider": "apns", "app_version": strings.Repeat("9", 51)},
			422, []string{"token", "platform", "locale", "provider", "app_version"}},
		{"nothing", "phone-2", map[string]any{}, 422, []string{"token", "platform", "locale"}},
		{"a token with spaces", "phone-2", map[string]any{"token": "a b", "platform": "ios", "locale": "en"}, 422, []string{"token"}},
		{"a device id too long", strings.Repeat("x", 201), phone, 422, []string{"device_id"}},
		{"a device id with a space", "phone%202", phone, 422, []string{"device_id"}},
		{"not JSON", "phone-2", "{", 400, nil},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			res := env.Do(t, apitest.Req{Method: "PUT", Path: "/v1/devices/" + tt.id, Token: env.As(t, "engineer"), Body: tt.body, RawInvalid: true})
			if res.Status != tt.status {
				t.Fatalf("%d %s", res.Status, res.Body)
			}
			p := res.Problem(t)
			for _, f := range tt.fields {
				if !p.HasField(f) {
					t.Errorf("no error for %s: %s", f, res.Body)
				}
			}
		})
	}
	env.Unchanged(t, before)

	// Removing: only one's own device; another's is not found and stays.
	if res := env.Do(t, apitest.Req{Method: "DELETE", Path: "/v1/devices/phone-1b", Token: env.As(t, "engineer")}); res.Status != http.StatusNotFound {
		t.Fatalf("delete another's: %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, apitest.Req{Method: "DELETE", Path: "/v1/devices/phone-1b", Token: env.As(t, "guard")}); res.Status != http.StatusNoContent {
		t.Fatalf("delete own: %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, apitest.Req{Method: "DELETE", Path: "/v1/devices/phone-1b", Token: env.As(t, "guard")}); res.Status != http.StatusNotFound {
		t.Fatalf("delete twice: %d %s", res.Status, res.Body)
	}
}

// Signing out of a phone removes that phone (and only it): nobody signed in, no pushes.
func TestLogoutRemovesTheSessionsDevice(t *testing.T) {
	env := apitest.New(t)
	login := func(device string) (access, refresh string) {
		res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"login": "engineer", "password": postgres.DemoPassword, "device_id": device}})
		var s struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		res.JSON(t, &s)
		if res.Status != 200 {
			t.Fatalf("login: %d %s", res.Status, res.Body)
		}
		return s.AccessToken, s.RefreshToken
	}
	for _, dev := range []string{"work-phone", "tablet"} {
		access, _ := login(dev)
		res := env.Do(t, apitest.Req{Method: "PUT", Path: "/v1/devices/" + dev, Token: access, Body: map[string]any{"token": "tok-" + dev, "platform": "android", "locale": "en"}})
		if res.Status != 201 {
			t.Fatalf("register %s: %d %s", dev, res.Status, res.Body)
		}
	}
	_, refresh := login("work-phone")
	if res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": refresh}}); res.Status != 204 {
		t.Fatalf("logout: %d %s", res.Status, res.Body)
	}
	if owner, _ := deviceOwner(t, env, "work-phone"); owner != "" {
		t.Fatal("the signed-out phone is still registered")
	}
	if owner, _ := deviceOwner(t, env, "tablet"); owner != "engineer" {
		t.Fatal("signing out of one phone removed another")
	}
	// Twice is fine, and the refresh token is dead.
	if res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/auth/logout", Body: map[string]string{"refresh_token": refresh}}); res.Status != 204 {
		t.Fatalf("logout again: %d %s", res.Status, res.Body)
	}
	if res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/auth/refresh", Body: map[string]string{"refresh_token": refresh, "device_id": "work-phone"}}); res.Status != 401 {
		t.Fatalf("refresh after logout: %d", res.Status)
	}
}
