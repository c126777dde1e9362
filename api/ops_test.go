package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
)

func TestOpsEndpoints(t *testing.T) {
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_CORS_ORIGINS", "https://admin.example.com"))

	t.Run("healthz", func(t *testing.T) {
		if res := env.Do(t, apitest.Req{Method: "GET", Path: "/healthz"}); res.Status != 200 {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("readyz reports each dependency", func(t *testing.T) {
		res := env.Do(t, apitest.Req{Method: "GET", Path: "/readyz"})
		if res.Status != 200 || !strings.Contains(string(res.Body), `"database":"ok"`) || !strings.Contains(string(res.Body), `"blob_store":"ok"`) {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
	t.Run("openapi and docs", func(t *testing.T) {
		res := env.Do(t, apitest.Req{Method: "GET", Path: "/openapi.yaml"})
		if res.Status != 200 || !strings.HasPrefix(string(res.Body), "openapi: 3") {
			t.Fatalf("openapi: %d", res.Status)
		}
		res = env.Do(t, apitest.Req{Method: "GET", Path: "/docs/"})
		if res.Status != 200 || !strings.Contains(string(res.Body), "/openapi.yaml") || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("docs: %d %s %.300s", res.Status, res.Header.Get("Content-Type"), res.Body)
		}
	})
	t.Run("request id is echoed or made", func(t *testing.T) {
		res := env.Do(t, apitest.Req{Method: "GET", Path: "/healthz", Headers: map[string]string{"X-Request-ID": "phone-abc.123"}})
		if got := res.Header.Get("X-Request-ID"); got != "phone-abc.123" {
			t.Errorf("echoed %q", got)
		}
		res = env.Do(t, apitest.Req{Method: "GET", Path: "/healthz", Headers: map[string]string{"X-Request-ID": "bad id\twith spaces"}})
		if got := res.Header.Get("X-Request-ID"); got == "" || strings.Contains(got, " ") {
			t.Errorf("unsafe id kept: %q", got)
		}
	})
	t.Run("access log carries request id, user, status, latency", func(t *testing.T) {
		token := env.As(t, "engineer")
		env.Do(t, apitest.Req{Method: "GET", Path: "/v1/me", Token: token, Headers: map[string]string{"X-Request-ID": "log-check-1"}})
		logs := env.LogText()
		var line string
		for _, l := range strings.Split(logs, "\n") {
			if strings.Contains(l, `"request_id":"log-check-1"`) {
				line = l
			}
		}
		for _, want := range []string{`"msg":"request"`, `"user_id":"`, `"status":200`, `"latency_ms":`, `"route":"/v1/me"`} {
			if !strings.Contains(line, want) {
				t.Errorf("access log line lacks %s: %s", want, line)
			}
		}
	})
	t.Run("metrics by route", func(t *testing.T) {
		res := env.Do(t, apitest.Req{Method: "GET", Path: "/metrics"})
		body := string(res.Body)
		for _, want := range []string{`fieldops_http_requests_total{method="GET",route="/healthz",status="200"}`, `fieldops_http_request_duration_seconds_bucket{method="GET",route="/v1/me"`, `go_sql_max_open_connections{db_name="fieldops"}`} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
	t.Run("cors preflight", func(t *testing.T) {
		res := env.Do(t, apitest.Req{Method: "OPTIONS", Path: "/v1/me", RawInvalid: true, Headers: map[string]string{
			"Origin": "https://admin.example.com", "Access-Control-Request-Method": "GET",
		}})
		if res.Status != http.StatusNoContent || res.Header.Get("Access-Control-Allow-Origin") != "https://admin.example.com" {
			t.Errorf("preflight: %d %v", res.Status, res.Header)
		}
		res = env.Do(t, apitest.Req{Method: "OPTIONS", Path: "/v1/me", RawInvalid: true, Headers: map[string]string{
			"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET",
		}})
		if res.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("foreign origin allowed: %v", res.Header)
		}
	})
}
