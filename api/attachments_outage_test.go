package api_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// ownMinIO runs a MinIO of this test's own (so it can be stopped) on a data folder
// that survives restarts.
type ownMinIO struct {
	bin, dir, addr string
	cmd            *exec.Cmd
}

func startOwnMinIO(t *testing.T) *ownMinIO {
	t.Helper()
	bin := os.Getenv("FIELDOPS_TEST_MINIO_BIN")
	if bin == "" {
		home, _ := os.UserHomeDir()
		bin = filepath.Join(home, ".cache", "fieldops", "bin", "minio")
	}
	if _, err := os.Stat(bin); err != nil {
		pgtest.Unavailable(t, "the MinIO binary", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	m := &ownMinIO{bin: bin, dir: t.TempDir(), addr: addr}
	m.start(t)
	t.Cleanup(m.stop)
	return m
}

func (m *ownMinIO) start(t *testing.T) {
	t.Helper()
	m.cmd = exec.Command(m.bin, "server", "--address", m.addr, "--console-address", "127.0.0.1:0", m.dir)
	m.cmd.Env = append(os.Environ(), "MINIO_ROOT_USER=outage-test", "MINIO_ROOT_PASSWORD=outage-test-secret", "MINIO_BROWSER=off")
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + m.addr + "/minio/health/ready"); err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("MinIO on %s did not start", m.addr)
}

func (m *ownMinIO) stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		_, _ = m.cmd.Process.Wait()
		m.cmd = nil
	}
}

// MinIO stops between upload and complete: complete answers 503 with Retry-After and
// leaves the photo pending; presigning still works; once MinIO is back the same
// complete succeeds and nothing was lost.
func TestPhotoSurvivesStoreOutage(t *testing.T) {
	m := startOwnMinIO(t)
	env := apitest.New(t,
		apitest.WithEnv("FIELDOPS_BLOB_DRIVER", "minio"), apitest.WithEnv("FIELDOPS_S3_ENDPOINT", m.addr),
		apitest.WithEnv("FIELDOPS_S3_ACCESS_KEY", "outage-test"), apitest.WithEnv("FIELDOPS_S3_SECRET_KEY", "outage-test-secret"),
		apitest.WithEnv("FIELDOPS_S3_BUCKET", fmt.Sprintf("outage-%d", time.Now().UnixNano())))
	ph := newPhone(t, env, "ambassador")
	unit := demoUnit(t, env)
	photo := testJPEG(t, 800, 600)

	ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
	if code := ph.put(t, ps, photo, nil); code != http.StatusOK {
		t.Fatalf("upload: %d", code)
	}

	m.stop()
	res := ph.complete(t, ps.Attachment.ID)
	if res.Status != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("complete with MinIO down: %d %s", res.Status, res.Body)
	}
	if v := ph.get(t, ps.Attachment.ID); v.State != "pending" {
		t.Fatalf("state after a failed complete: %s", v.State)
	}
	if r := env.Do(t, apitest.Req{Method: "GET", Path: "/readyz"}); r.Status != http.StatusServiceUnavailable {
		t.Fatalf("readyz with the store down: %d", r.Status)
	}
	// Presigning is computed locally, so the next photo can still be announced.
	ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))

	m.start(t)
	res = ph.complete(t, ps.Attachment.ID)
	if res.Status != http.StatusOK {
		t.Fatalf("complete after MinIO is back: %d %s", res.Status, res.Body)
	}
	if v := ph.get(t, ps.Attachment.ID); v.State != "available" {
		t.Fatalf("state %s", v.State)
	}
}
