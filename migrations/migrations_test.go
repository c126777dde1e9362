package migrations_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/fieldops/fieldops/migrations"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// TestUpDownUp proves every migration can be rolled back and applied again, River's included.
func TestUpDownUp(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("pgx", pgtest.NewURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := migrations.NewProvider(db)
	if err != nil {
		t.Fatal(err)
	}
	// The cloned template is already at the latest version.
	if pending, err := p.HasPending(ctx); err != nil || pending {
		t.Fatalf("pending after template clone: %v %v", pending, err)
	}
	if _, err := p.DownTo(ctx, 0); err != nil {
		t.Fatalf("down: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('users', 'river_job')`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("tables left after down: %d %v", n, err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		t.Fatalf("up again: %v", err)
	}
	if len(res) != len(p.ListSources()) {
		t.Fatalf("applied %d of %d migrations", len(res), len(p.ListSources()))
	}
	var riverVersion int
	if err := db.QueryRow(`SELECT max(version) FROM river_migration WHERE line = 'main'`).Scan(&riverVersion); err != nil {
		t.Fatal(err)
	}
	if riverVersion != migrations.RiverSchemaVersion {
		t.Fatalf("river schema at %d, want %d", riverVersion, migrations.RiverSchemaVersion)
	}
}
