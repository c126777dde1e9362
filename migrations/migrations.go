// Package migrations holds the versioned schema, embedded in the binary and applied by goose.
// River's job tables are migrated here too, pinned to a River schema version, so one
// `fieldops migrate up` brings the whole database to the version the code expects.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
)

//go:embed *.sql
var sqlFiles embed.FS

// RiverSchemaVersion is the River migration the code is written against. Raising it
// means adding a new goose migration that calls riverTo with the new number.
const RiverSchemaVersion = 8

// goMigrations are the migrations written in Go; their numbers interleave with the SQL files.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(2,
			&goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error { return riverTo(ctx, db, RiverSchemaVersion) }},
			&goose.GoFunc{RunDB: func(ctx context.Context, db *sql.DB) error { return riverTo(ctx, db, -1) }},
		),
	}
}

// riverTo runs outside one transaction: River adds an enum value in one of its versions
// and uses it in a later one, which PostgreSQL allows only after a commit. River applies
// each of its versions in its own transaction.
func riverTo(ctx context.Context, db *sql.DB, target int) error {
	m, err := rivermigrate.New(riverdatabasesql.New(db), nil)
	if err != nil {
		return err
	}
	dir := rivermigrate.DirectionUp
	if target < 0 {
		dir = rivermigrate.DirectionDown
	}
	if _, err := m.Migrate(ctx, dir, &rivermigrate.MigrateOpts{TargetVersion: target}); err != nil {
		return fmt.Errorf("river schema: %w", err)
	}
	return nil
}

// Files is the embedded SQL, for tools that fingerprint the schema.
func Files() fs.FS { return sqlFiles }

// NewProvider returns a goose provider over db with every migration of the service.
func NewProvider(db *sql.DB) (*goose.Provider, error) {
	files, err := fs.Sub(sqlFiles, ".")
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(goose.DialectPostgres, db, files, goose.WithGoMigrations(goMigrations()...))
}

// Up applies every pending migration.
func Up(ctx context.Context, db *sql.DB) ([]*goose.MigrationResult, error) {
	p, err := NewProvider(db)
	if err != nil {
		return nil, err
	}
	return p.Up(ctx)
}
