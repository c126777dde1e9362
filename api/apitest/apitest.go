// Package apitest runs the real, fully wired API on a fresh database for tests, and
// checks every request and response against openapi.yaml.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	fieldops "github.com/fieldops/fieldops"
	"github.com/fieldops/fieldops/cmd/fieldops/server"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/config"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// Env is one running API on its own database.
type Env struct {
	Server *server.Server
	DB     *postgres.DB
	Config *config.Config
	Demo   postgres.DemoSummary
	logs   *lockedWriter

	mu     sync.Mutex
	tokens map[string]string
}

// Option adjusts the configuration before the server is built.
type Option func(env map[string]string)

// WithEnv sets one configuration variable.
func WithEnv(name, value string) Option { return func(e map[string]string) { e[name] = value } }

// WithoutDemo starts on an empty database (no seed).
func WithoutDemo() Option { return WithEnv("APITEST_NO_DEMO", "1") }

// New starts the API on a fresh migrated database seeded with the demo project.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	vars := map[string]string{
		"DATABASE_URL":              pgtest.NewURL(t),
		"FIELDOPS_JWT_SECRET":       "test-secret-test-secret-test-secret-0123",
		"FIELDOPS_WORKERS":          "false",
		"FIELDOPS_BLOB_DRIVER":      "local",
		"FIELDOPS_BLOB_LOCAL_DIR":   t.TempDir(),
		"FIELDOPS_HASH_CONCURRENCY": "2",
	}
	for _, o := range opts {
		o(vars)
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	srv, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	env := &Env{Server: srv, DB: srv.DB, Config: cfg, logs: logs, tokens: map[string]string{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", truncateTail(env.LogText(), 8000))
		}
	})
	if vars["APITEST_NO_DEMO"] == "" {
		if env.Demo, err = srv.DB.SeedDemo(context.Background(), demoHash(t)); err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
	return env
}

var demoHashOnce = sync.OnceValues(func() (string, error) { return auth.HashPassword(postgres.DemoPassword) })

func demoHash(t testing.TB) string {
	h, err := demoHashOnce()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// Req is one request.
type Req struct {
	Method  string
	Path    string // with query string
	Token   string
	Body    any // marshalled to JSON unless it is []byte or string (sent as is)
	Headers map[string]string
	// RawInvalid marks a request that breaks the contract on purpose (malformed JSON,
	// a wrong type): it is not checked against the spec; the response still is.
	RawInvalid bool
}

// Resp is the answer.
type Resp struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (r *Resp) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.Status, r.Body, err)
	}
}

// Problem decodes a problem+json body.
func (r *Resp) Problem(t testing.TB) Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("want problem+json, got %q: %s", ct, r.Body)
	}
	var p Problem
	r.JSON(t, &p)
	return p
}

// Problem mirrors api.Problem for assertions.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field, Rule, Message string
	} `json:"errors"`
	Current json.RawMessage `json:"current"`
}

// HasField reports whether the problem names field.
func (p Problem) HasField(field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}

// Do sends r through the app and checks both sides against openapi.yaml.
func (e *Env) Do(t testing.TB, r Req) *Resp {
	t.Helper()
	var body []byte
	ct := ""
	switch b := r.Body.(type) {
	case nil:
	case []byte:
		body, ct = b, "application/json"
	case string:
		body, ct = []byte(b), "application/json"
	default:
		var err error
		if body, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
		ct = "application/json"
	}
	req := httptest.NewRequest(r.Method, r.Path, bytes.NewReader(body))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}

	route, params, routeErr := contract(t).router.FindRoute(req)
	if routeErr != nil && !r.RawInvalid && !strings.HasPrefix(r.Path, "/docs/") {
		t.Errorf("%s %s is not in openapi.yaml: %v", r.Method, r.Path, routeErr)
	}
	var input *openapi3filter.RequestValidationInput
	if route != nil {
		input = &openapi3filter.RequestValidationInput{
			Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
		}
		if !r.RawInvalid {
			checkReq := req.Clone(req.Context())
			checkReq.Body = io.NopCloser(bytes.NewReader(body))
			in := *input
			in.Request = checkReq
			if err := openapi3filter.ValidateRequest(context.Background(), &in); err != nil {
				t.Errorf("request %s %s does not match openapi.yaml: %v", r.Method, r.Path, err)
			}
		}
	}

	res, err := e.Server.App.Test(req, -1)
	if err != nil {
		t.Fatalf("%s %s: %v", r.Method, r.Path, err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	resp := &Resp{Status: res.StatusCode, Header: res.Header, Body: out}

	if input != nil {
		rv := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: input, Status: res.StatusCode, Header: res.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
		}
		rv.SetBodyBytes(out)
		if err := openapi3filter.ValidateResponse(context.Background(), rv); err != nil {
			t.Errorf("response %d to %s %s does not match openapi.yaml: %v\nbody: %s", res.StatusCode, r.Method, r.Path, err, truncate(out))
		}
	}
	if res.StatusCode >= 400 && !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") && r.Path != "/readyz" {
		t.Errorf("%s %s answered %d without problem+json: %s", r.Method, r.Path, res.StatusCode, truncate(out))
	}
	return resp
}

// Login signs in and returns an access token (cached per login).
func (e *Env) Login(t testing.TB, login, password string) string {
	t.Helper()
	e.mu.Lock()
	tok, ok := e.tokens[login+"\x00"+password]
	e.mu.Unlock()
	if ok {
		return tok
	}
	res := e.Do(t, Req{Method: "POST", Path: "/v1/auth/login", Body: map[string]string{"login": login, "password": password, "device_id": "test-device-" + login}})
	if res.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", login, res.Status, res.Body)
	}
	var s struct {
		AccessToken string `json:"access_token"`
	}
	res.JSON(t, &s)
	e.mu.Lock()
	e.tokens[login+"\x00"+password] = s.AccessToken
	e.mu.Unlock()
	return s.AccessToken
}

// As signs in as a demo user (admin, supervisor, ambassador, engineer, guard).
func (e *Env) As(t testing.TB, login string) string { return e.Login(t, login, postgres.DemoPassword) }

// Snapshot counts the rows of each table, for a later Unchanged.
func (e *Env) Snapshot(t testing.TB, tables ...string) map[string]int64 {
	t.Helper()
	counts := make(map[string]int64, len(tables))
	for _, table := range tables {
		counts[table] = e.Count(t, table)
	}
	return counts
}

// Unchanged checks that no table of a Snapshot gained or lost rows: bad input wrote nothing.
func (e *Env) Unchanged(t testing.TB, before map[string]int64) {
	t.Helper()
	for table, n := range before {
		if after := e.Count(t, table); after != n {
			t.Errorf("%s: %d rows before, %d after", table, n, after)
		}
	}
}

// Count returns the number of rows of a table, for "nothing was written" checks.
func (e *Env) Count(t testing.TB, table string) int64 {
	t.Helper()
	var n int64
	if err := e.DB.Gorm(context.Background()).Raw("SELECT count(*) FROM " + table).Scan(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

type spec struct {
	doc    *openapi3.T
	router routers.Router
}

var specOnce = sync.OnceValues(func() (*spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(fieldops.OpenAPI)
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, err
	}
	// Match on paths only, whatever host the test request names.
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &spec{doc: doc, router: router}, nil
})

func contract(t testing.TB) *spec {
	t.Helper()
	s, err := specOnce()
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return s
}

// Spec returns the parsed openapi.yaml.
func Spec(t testing.TB) *openapi3.T { return contract(t).doc }

func init() {
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/csv", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.FileBodyDecoder)
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// LogText is everything the server logged so far.
func (e *Env) LogText() string {
	e.logs.mu.Lock()
	defer e.logs.mu.Unlock()
	return e.logs.w.(*bytes.Buffer).String()
}

// Listen serves the app on a loopback port until the test ends and returns its base URL,
// for what only a real connection shows (the HTTP server's own limits).
func (e *Env) Listen(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = e.Server.App.Listener(ln) }()
	t.Cleanup(func() { _ = e.Server.App.Shutdown() })
	return "http://" + ln.Addr().String()
}

// WithMinIO stores photos in the MinIO that `make test` runs, in a bucket of this test's own.
func WithMinIO(t testing.TB) Option {
	t.Helper()
	endpoint := os.Getenv("FIELDOPS_TEST_S3_ENDPOINT")
	if endpoint == "" {
		pgtest.Unavailable(t, "MinIO", errors.New("FIELDOPS_TEST_S3_ENDPOINT is not set"))
	}
	bucket := fmt.Sprintf("fieldops-test-%d-%d", time.Now().UnixNano(), os.Getpid())
	return func(e map[string]string) {
		e["FIELDOPS_BLOB_DRIVER"] = "minio"
		e["FIELDOPS_S3_ENDPOINT"] = endpoint
		e["FIELDOPS_S3_ACCESS_KEY"] = os.Getenv("FIELDOPS_TEST_S3_ACCESS_KEY")
		e["FIELDOPS_S3_SECRET_KEY"] = os.Getenv("FIELDOPS_TEST_S3_SECRET_KEY")
		e["FIELDOPS_S3_BUCKET"] = bucket
	}
}

// StartWorkers works background jobs (derivatives, clean-ups) until the test ends.
func (e *Env) StartWorkers(t testing.TB) {
	t.Helper()
	if !e.Config.Workers {
		t.Fatal("StartWorkers needs apitest.WithEnv(\"FIELDOPS_WORKERS\", \"true\")")
	}
	if err := e.Server.Queue.Start(context.Background()); err != nil {
		t.Fatalf("start workers: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.Server.Queue.Stop(ctx)
	})
}

func truncateTail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
