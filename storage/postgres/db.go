// Package postgres is the service's PostgreSQL storage: the connection pool, the one
// transaction helper, error translation, and a repository file per domain area.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Options size the pool; GORM's database/sql default is unlimited, so every field is set.
type Options struct {
	URL              string
	MaxOpenConns     int
	MaxIdleConns     int
	ConnMaxLifetime  time.Duration
	ConnMaxIdleTime  time.Duration
	StatementTimeout time.Duration
	Logger           *slog.Logger
}

// DB is the pool plus the transaction helper every repository uses.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
}

// Open connects lazily (a database that is down at start makes /readyz fail, not the process).
func Open(opts Options) (*DB, error) {
	dsn, err := withStatementTimeout(opts.URL, opts.StatementTimeout)
	if err != nil {
		return nil, err
	}
	gdb, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), &gorm.Config{
		Logger:                                   logger.Discard,
		SkipDefaultTransaction:                   true,
		DisableAutomaticPing:                     true,
		DisableForeignKeyConstraintWhenMigrating: true,
		TranslateError:                           false,
		NowFunc:                                  func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(opts.MaxOpenConns)
	sqlDB.SetMaxIdleConns(opts.MaxIdleConns)
	sqlDB.SetConnMaxLifetime(opts.ConnMaxLifetime)
	sqlDB.SetConnMaxIdleTime(opts.ConnMaxIdleTime)
	return &DB{gorm: gdb, sql: sqlDB}, nil
}

// withStatementTimeout adds statement_timeout as a runtime parameter of every connection.
func withStatementTimeout(raw string, d time.Duration) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	if d > 0 {
		q := u.Query()
		if q.Get("statement_timeout") == "" {
			q.Set("statement_timeout", strconv.FormatInt(d.Milliseconds(), 10))
		}
		u.RawQuery = q.Encode()
	}
	return u.String(), nil
}

// SQL is the underlying pool (migrations, the job queue).
func (db *DB) SQL() *sql.DB { return db.sql }

// Close closes the pool.
func (db *DB) Close() error { return db.sql.Close() }

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return apperr.Unavailable("database", err)
	}
	return nil
}

type txKey struct{}

// InTx runs fn in one transaction. A call inside another InTx runs in a savepoint of
// the outer transaction: its writes commit with the outer one (a service method and the
// idempotency middleware around it commit together), and an error rolls back only fn's
// own writes.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	base := db.gorm.WithContext(ctx)
	if outer, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		base = outer.WithContext(ctx)
	}
	err := base.Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
	return Translate(err)
}

// conn is the transaction in ctx, or the pool.
func (db *DB) conn(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx.WithContext(ctx)
	}
	return db.gorm.WithContext(ctx)
}

// Gorm returns the handle for ctx: the ambient transaction or the pool.
func (db *DB) Gorm(ctx context.Context) *gorm.DB { return db.conn(ctx) }

// SQLTx returns the *sql.Tx of the transaction in ctx, for River's transactional insert.
func SQLTx(ctx context.Context) (*sql.Tx, bool) {
	tx, ok := ctx.Value(txKey{}).(*gorm.DB)
	if !ok {
		return nil, false
	}
	sqlTx, ok := tx.Statement.ConnPool.(*sql.Tx)
	return sqlTx, ok
}

// ErrNoRows is returned by First-style lookups before translation.
var ErrNoRows = gorm.ErrRecordNotFound

// IsNoRows reports a missing row.
func IsNoRows(err error) bool {
	return errors.Is(err, gorm.ErrRecordNotFound) || errors.Is(err, sql.ErrNoRows)
}

// The hot paths of the workflow stores (lists, commands, alarms) are plain SQL with $n
// placeholders scanned by hand, on ctx's transaction or the pool.

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	rows, err := db.conn(ctx).Statement.ConnPool.QueryContext(ctx, q, args...)
	return rows, Translate(err)
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.conn(ctx).Statement.ConnPool.QueryRowContext(ctx, q, args...)
}

// exec runs a statement and returns the rows it affected.
func (db *DB) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := db.conn(ctx).Statement.ConnPool.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, Translate(err)
	}
	return res.RowsAffected()
}
