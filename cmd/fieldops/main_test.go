package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

func runCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestMigrateAndSeedCommands(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))

	if out, err := runCmd(t, "version"); err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("version: %q %v", out, err)
	}
	if out, err := runCmd(t, "migrate", "down"); err != nil || !strings.Contains(out, "rolled back") {
		t.Fatalf("migrate down: %q %v", out, err)
	}
	out, err := runCmd(t, "migrate", "status")
	if err != nil || !strings.Contains(out, "pending") {
		t.Fatalf("status after down: %q %v", out, err)
	}
	if out, err := runCmd(t, "migrate", "up"); err != nil || !strings.Contains(out, "applied") {
		t.Fatalf("migrate up: %q %v", out, err)
	}
	if out, err := runCmd(t, "migrate", "up"); err != nil || !strings.Contains(out, "up to date") {
		t.Fatalf("second migrate up: %q %v", out, err)
	}
	if out, err := runCmd(t, "seed", "--demo"); err != nil || !strings.Contains(out, "80 units") {
		t.Fatalf("seed: %q %v", out, err)
	}
	if _, err := runCmd(t, "seed", "--demo"); err == nil {
		t.Fatal("a second seed into a non-empty database must fail")
	}
	if out, err := runCmd(t, "seed", "--demo", "--if-empty"); err != nil || !strings.Contains(out, "skipped") {
		t.Fatalf("seed --if-empty: %q %v", out, err)
	}
	if _, err := runCmd(t, "launch"); err == nil {
		t.Fatal("unknown command accepted")
	}
}

func TestBadConfigurationStopsTheStart(t *testing.T) {
	t.Setenv("FIELDOPS_ACCESS_TOKEN_TTL", "2h")
	out, err := runCmd(t, "serve")
	if err == nil || !strings.Contains(err.Error(), "FIELDOPS_ACCESS_TOKEN_TTL") {
		t.Fatalf("serve with a bad value: %v %q", err, out)
	}
}

// serve answers on a real port, logs its settings with secrets masked, and on cancel
// drains and exits cleanly.
func TestServeAndGracefulShutdown(t *testing.T) {
	t.Setenv("DATABASE_URL", pgtest.NewURL(t))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	t.Setenv("FIELDOPS_ADDR", addr)
	t.Setenv("FIELDOPS_JWT_SECRET", "serve-test-secret-serve-test-secret-xyz")
	t.Setenv("FIELDOPS_BLOB_LOCAL_DIR", t.TempDir())

	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, &bytes.Buffer{}, &logs) }()

	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			var body map[string]any
			_ = json.NewDecoder(res.Body).Decode(&body)
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server not ready: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(logs.String(), "serve-test-secret") {
		t.Fatal("the start-up log shows the JWT secret")
	}
	if !strings.Contains(logs.String(), `"jwt_secret":"****"`) {
		t.Fatalf("start-up log lacks the masked settings: %.500s", logs.String())
	}
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatal("still answering after shutdown")
	}
}
