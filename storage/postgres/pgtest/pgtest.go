// Package pgtest gives each test its own fresh PostgreSQL database, cloned from a
// migrated template so a new database costs a file copy, not a migration run.
package pgtest

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/fieldops/fieldops/migrations"
	"github.com/fieldops/fieldops/storage/postgres"
)

// AdminURL is the server the tests use; FIELDOPS_TEST_DATABASE_URL overrides it.
func AdminURL() string {
	if v := os.Getenv("FIELDOPS_TEST_DATABASE_URL"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// Unavailable stops the test: a failure under CI=true, a skip on a developer's machine.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI=true: %v", what, err)
	}
	t.Skipf("%s not reachable (%v); run `make test` to start it", what, err)
}

var counter atomic.Int64

// NewURL creates a fresh migrated database and returns its URL; it is dropped when the test ends.
func NewURL(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		Unavailable(t, "PostgreSQL", err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		Unavailable(t, "PostgreSQL", err)
	}

	// One connection, so the advisory lock and the statements it guards share a session.
	conn, err := admin.Conn(ctx)
	if err != nil {
		t.Fatalf("admin connection: %v", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(7243101)`); err != nil {
		t.Fatalf("lock: %v", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(7243101)`) //nolint:errcheck // released with the session anyway

	tmpl := templateName()
	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tmpl).Scan(&exists); err != nil {
		t.Fatalf("look up template: %v", err)
	}
	if !exists {
		dropStale(ctx, t, conn)
		if err := buildTemplate(ctx, conn, tmpl); err != nil {
			t.Fatalf("build template database: %v", err)
		}
	}

	name := fmt.Sprintf("fieldops_test_%d_%d_%d", time.Now().Unix(), os.Getpid(), counter.Add(1))
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, tmpl)); err != nil {
		t.Fatalf("clone template: %v", err)
	}
	t.Cleanup(func() {
		db, err := sql.Open("pgx", AdminURL())
		if err != nil {
			return
		}
		defer db.Close()
		if _, err := db.Exec(fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(AdminURL(), name)
}

// New returns a pool on a fresh migrated database.
func New(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(postgres.Options{
		URL: NewURL(t), MaxOpenConns: 10, MaxIdleConns: 5,
		ConnMaxLifetime: time.Minute, ConnMaxIdleTime: time.Minute, StatementTimeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func buildTemplate(ctx context.Context, conn *sql.Conn, tmpl string) error {
	building := tmpl + "_building"
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return err
	}
	db, err := sql.Open("pgx", withDatabase(AdminURL(), building))
	if err != nil {
		return err
	}
	_, err = migrations.Up(ctx, db)
	_ = db.Close()
	if err != nil {
		return err
	}
	// Renamed only once complete, so a half-built template is never cloned.
	_, err = conn.ExecContext(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, tmpl))
	return err
}

// dropStale removes templates of older schemas and test databases left by killed runs.
func dropStale(ctx context.Context, t testing.TB, conn *sql.Conn) {
	rows, err := conn.QueryContext(ctx, `SELECT datname FROM pg_database WHERE datname LIKE 'fieldops\_tmpl\_%' OR datname LIKE 'fieldops\_test\_%'`)
	if err != nil {
		return
	}
	var names []string
	for rows.Next() {
		var n string
		if rows.Scan(&n) == nil {
			names = append(names, n)
		}
	}
	_ = rows.Close()
	for _, n := range names {
		if strings.HasPrefix(n, "fieldops_test_") {
			parts := strings.Split(n, "_")
			created, _ := strconv.ParseInt(parts[2], 10, 64)
			if time.Since(time.Unix(created, 0)) < 2*time.Hour {
				continue
			}
		}
		if _, err := conn.ExecContext(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, n)); err != nil {
			t.Logf("drop stale %s: %v", n, err)
		}
	}
}

// templateName changes whenever a migration changes, so an edited schema gets a new template.
func templateName() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.Files(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.Files(), path)
		if err != nil {
			return err
		}
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	fmt.Fprintf(h, "river=%d", migrations.RiverSchemaVersion)
	return "fieldops_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}
