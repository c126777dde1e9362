package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
)

func testApp(logs io.Writer) *fiber.App {
	log := slog.New(slog.NewJSONHandler(logs, nil))
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(log), DisableStartupMessage: true})
	app.Use(withRequestID, withAccessLog(log, NewMetrics(nil)), withRecovery(log), withDeadline(250*time.Millisecond))
	return app
}

// A panic becomes a logged 500 problem; the cause is not sent to the client.
func TestPanicBecomesProblem(t *testing.T) {
	var logs bytes.Buffer
	app := testApp(&logs)
	app.Get("/boom", func(*fiber.Ctx) error { panic("secret detail") })
	res, err := app.Test(httptest.NewRequest("GET", "/boom", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 500 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	if strings.Contains(string(body), "secret detail") {
		t.Fatal("panic value sent to the client")
	}
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Type != ProblemBase+"internal" || p.RequestID == "" {
		t.Fatalf("problem %+v %v", p, err)
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), p.RequestID) {
		t.Fatalf("panic not logged with the request id: %s", logs.String())
	}
}

// Handlers get a context that ends at the request deadline.
func TestRequestContextHasDeadline(t *testing.T) {
	app := testApp(io.Discard)
	app.Get("/slow", func(c *fiber.Ctx) error {
		dl, ok := c.UserContext().Deadline()
		if !ok || time.Until(dl) > 250*time.Millisecond {
			return c.SendString("no deadline")
		}
		<-c.UserContext().Done()
		return c.UserContext().Err()
	})
	res, err := app.Test(httptest.NewRequest("GET", "/slow", nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 503 || res.Header.Get("Retry-After") == "" {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("deadline passed: %d %s", res.StatusCode, body)
	}
}

// A connection that sends no request within the read timeout is told 408 and closed,
// not a 503 that would claim an outage.
func TestSilentConnectionGets408(t *testing.T) {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	app := fiber.New(fiber.Config{ErrorHandler: errorHandler(log), DisableStartupMessage: true, ReadTimeout: 200 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	defer func() { _ = app.Shutdown() }()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	head, _ := io.ReadAll(conn)
	if len(head) > 0 && !strings.HasPrefix(string(head), "HTTP/1.1 408") {
		t.Fatalf("answer to a silent connection: %.80s", head)
	}
}
