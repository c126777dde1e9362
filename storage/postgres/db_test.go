package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

func TestPoolAndStatementTimeout(t *testing.T) {
	db, err := postgres.Open(postgres.Options{
		URL: pgtest.NewURL(t), MaxOpenConns: 7, MaxIdleConns: 3,
		ConnMaxLifetime: time.Minute, ConnMaxIdleTime: time.Minute, StatementTimeout: 1234 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if got := db.SQL().Stats().MaxOpenConnections; got != 7 {
		t.Fatalf("max open connections %d, want 7", got)
	}
	var timeout string
	if err := db.Gorm(ctx).Raw(`SHOW statement_timeout`).Scan(&timeout).Error; err != nil {
		t.Fatal(err)
	}
	if timeout != "1234ms" {
		t.Fatalf("statement_timeout %q, want 1234ms", timeout)
	}
	// A statement over the timeout is cancelled by the server and reported as unavailable (503), not internal.
	err = db.InTx(ctx, func(ctx context.Context) error {
		return db.Gorm(ctx).Exec(`SELECT pg_sleep(3)`).Error
	})
	if !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("slow statement: %v", err)
	}
}

func TestInTxJoinsTheOuterTransaction(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	boom := errors.New("roll back")
	err := db.InTx(ctx, func(ctx context.Context) error {
		if err := db.InTx(ctx, func(ctx context.Context) error {
			return db.Gorm(ctx).Exec(`INSERT INTO organizations (id, name) VALUES (gen_random_uuid(), 'inner')`).Error
		}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	var n int64
	db.Gorm(ctx).Raw(`SELECT count(*) FROM organizations`).Scan(&n)
	if n != 0 {
		t.Fatalf("the inner write survived the outer rollback")
	}
}

func TestNestedInTxFailureRollsBackOnlyItsOwnWrites(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	boom := errors.New("inner refusal")
	err := db.InTx(ctx, func(ctx context.Context) error {
		if err := db.Gorm(ctx).Exec(`INSERT INTO organizations (id, name) VALUES (gen_random_uuid(), 'outer')`).Error; err != nil {
			return err
		}
		inner := db.InTx(ctx, func(ctx context.Context) error {
			if err := db.Gorm(ctx).Exec(`INSERT INTO organizations (id, name) VALUES (gen_random_uuid(), 'inner')`).Error; err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(inner, boom) {
			t.Errorf("inner: %v", inner)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	db.Gorm(ctx).Raw(`SELECT name FROM organizations ORDER BY name`).Scan(&names)
	if len(names) != 1 || names[0] != "outer" {
		t.Fatalf("rows after a failed inner transaction: %v, want [outer]", names)
	}
}
