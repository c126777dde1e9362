// Command fieldops is the server behind the field-staff apps: serve, migrate, seed, version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/fieldops/fieldops/cmd/fieldops/server"
	"github.com/fieldops/fieldops/internal/auth"
	"github.com/fieldops/fieldops/internal/buildinfo"
	"github.com/fieldops/fieldops/internal/config"
	"github.com/fieldops/fieldops/migrations"
	"github.com/fieldops/fieldops/storage/postgres"
)

const usage = `fieldops — the server behind the fieldops field-staff apps

Usage:
  fieldops serve                  serve the API (and work background jobs unless FIELDOPS_WORKERS=false)
  fieldops migrate up|down|status apply, roll back one, or list the database migrations
  fieldops seed --demo [--if-empty]
                                  create the Demo Garden project and one user per role
  fieldops version                print the version

Configuration comes from environment variables; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "fieldops:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, buildinfo.String())
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	case "serve", "migrate", "seed":
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}

	cfg, err := config.FromEnv()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log := newLogger(stderr, cfg.LogLevel)

	switch args[0] {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate(ctx, cfg, args[1:], stdout)
	default:
		return seed(ctx, cfg, args[1:], stdout)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	log.Info("starting fieldops", "version", buildinfo.String(), "config", cfg.Masked())
	if cfg.JWTSecretGenerated {
		log.Warn("FIELDOPS_JWT_SECRET is not set: using a random secret, so tokens die with this process and other instances reject them")
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = srv.Close()
		return fmt.Errorf("listen on %s (FIELDOPS_ADDR): %w", cfg.Addr, err)
	}
	return srv.Run(ctx, ln)
}

func openDB(cfg *config.Config) (*postgres.DB, error) {
	return postgres.Open(postgres.Options{
		URL: cfg.DatabaseURL, MaxOpenConns: 2, MaxIdleConns: 1,
		ConnMaxLifetime: time.Hour, ConnMaxIdleTime: time.Minute, StatementTimeout: 10 * time.Minute,
	})
}

func migrate(ctx context.Context, cfg *config.Config, args []string, out io.Writer) error {
	if len(args) != 1 {
		return errors.New("usage: fieldops migrate up|down|status")
	}
	db, err := openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	p, err := migrations.NewProvider(db.SQL())
	if err != nil {
		return err
	}
	switch args[0] {
	case "up":
		res, err := p.Up(ctx)
		for _, r := range res {
			fmt.Fprintf(out, "applied %s (%s)\n", migrationName(r.Source), r.Duration.Round(time.Millisecond))
		}
		if err != nil {
			return err
		}
		if len(res) == 0 {
			fmt.Fprintln(out, "database is up to date")
		}
		return nil
	case "down":
		r, err := p.Down(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "rolled back %s\n", migrationName(r.Source))
		return nil
	case "status":
		st, err := p.Status(ctx)
		if err != nil {
			return err
		}
		for _, s := range st {
			applied := "pending"
			if s.State == "applied" {
				applied = "applied " + s.AppliedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(out, "%-40s %s\n", migrationName(s.Source), applied)
		}
		return nil
	}
	return fmt.Errorf("unknown migrate command %q (up, down or status)", args[0])
}

// migrationName is the file of a SQL migration, or the version of one written in Go.
func migrationName(s *goose.Source) string {
	if s.Path != "" {
		return s.Path
	}
	return fmt.Sprintf("%05d (Go: River schema)", s.Version)
}

func seed(ctx context.Context, cfg *config.Config, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "create the Demo Garden project and demo users")
	ifEmpty := fs.Bool("if-empty", false, "do nothing (and succeed) when the database already has data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if !*demo {
		return errors.New("usage: fieldops seed --demo [--if-empty]")
	}
	db, err := openDB(cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	hash, err := auth.HashPassword(postgres.DemoPassword)
	if err != nil {
		return err
	}
	sum, err := db.SeedDemo(ctx, hash)
	if errors.Is(err, postgres.ErrNotEmpty) {
		if *ifEmpty {
			fmt.Fprintln(out, "database already has data; demo seed skipped")
			return nil
		}
		return errors.New("the database already has data; the demo seed only writes into an empty database")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded Demo Garden: %d buildings, %d units, %d users (password %q):", sum.Buildings, sum.Units, sum.Users, postgres.DemoPassword)
	for _, u := range postgres.DemoUsers {
		fmt.Fprintf(out, " %s", u.Login)
	}
	fmt.Fprintln(out)
	return nil
}
