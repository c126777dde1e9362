// Package config reads the service's settings from environment variables, once, at start.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Config is every setting of the service. Zero values never reach the code: Load
// fills defaults and rejects bad values.
type Config struct {
	Env string // development or production

	DatabaseURL        string
	DBMaxOpenConns     int
	DBMaxIdleConns     int
	DBConnMaxLifetime  time.Duration
	DBConnMaxIdleTime  time.Duration
	DBStatementTimeout time.Duration

	Addr            string
	ReadTimeout     time.Duration
	WriteTimeout    time.Duration
	IdleTimeout     time.Duration
	RequestTimeout  time.Duration
	ShutdownTimeout time.Duration
	BodyLimit       int
	CORSOrigins     []string
	TrustedProxies  []string
	LogLevel        string

	JWTSecret           string
	JWTSecretGenerated  bool
	AccessTokenTTL      time.Duration
	RefreshTokenTTL     time.Duration
	RefreshReuseGrace   time.Duration
	HashConcurrency     int
	LoginLimitPerIP     int
	LoginLimitIPWindow  time.Duration
	LoginLimitAccount   int
	LoginLimitAccWindow time.Duration
	IdempotencyTTL      time.Duration

	Workers           bool
	WorkerConcurrency int
	// SLAAlarmWorkers and PushWorkers size the queues of SLA alarms and push deliveries,
	// apart from WorkerConcurrency's (photos, clean-ups) so neither waits behind the other.
	SLAAlarmWorkers int
	PushWorkers     int

	BlobDriver    string // local or minio
	BlobLocalDir  string
	PublicBaseURL string
	S3Endpoint    string
	S3AccessKey   string
	S3SecretKey   string
	S3Bucket      string
	S3Region      string
	S3UseTLS      bool
	S3PathStyle   bool
	// S3PublicEndpoint is the host[:port] (or http(s) URL) phones reach the store at,
	// when it is not S3Endpoint; presigned URLs name it.
	S3PublicEndpoint string
	S3PublicUseTLS   bool
	// PhotoMaxBytes is the largest photo accepted (uploads to the local store pass
	// through the API, so its body limit grows to this for /blobs/ only).
	PhotoMaxBytes int
	// PhotoMaxPixels refuses larger images (pixel bombs) before decoding.
	PhotoMaxPixels int
	// UploadURLTTL and DownloadURLTTL are the lives of presigned URLs; an upload not
	// completed within PendingUploadTTL is removed.
	UploadURLTTL     time.Duration
	DownloadURLTTL   time.Duration
	PendingUploadTTL time.Duration

	PushDriver         string // log or fcm
	FCMProjectID       string
	FCMCredentialsFile string
	// FCMEndpoint replaces FCM's address (a fake in tests); no credentials are sent to it.
	FCMEndpoint string

	// SyncMaxChanges and SyncMaxBytes bound one offline push (POST /v1/sync/push).
	SyncMaxChanges int
	SyncMaxBytes   int
	// SyncRetention is how long the change log keeps a change; an app whose cursor is
	// older must pull everything again.
	SyncRetention time.Duration
}

// Load reads the environment through getenv (os.Getenv in production).
func Load(getenv func(string) string) (*Config, error) {
	r := reader{getenv: getenv}
	// A project id alone is enough to send through FCM; without one, pushes go to the log.
	pushDefault := "log"
	if r.str("FIELDOPS_FCM_PROJECT_ID", "") != "" {
		pushDefault = "fcm"
	}
	c := &Config{
		Env:                r.oneOf("FIELDOPS_ENV", "development", "development", "production"),
		DatabaseURL:        r.str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fieldops?sslmode=disable"),
		DBMaxOpenConns:     r.intRange("FIELDOPS_DB_MAX_OPEN_CONNS", 20, 1, 1000),
		DBConnMaxLifetime:  r.duration("FIELDOPS_DB_CONN_MAX_LIFETIME", 30*time.Minute),
		DBConnMaxIdleTime:  r.duration("FIELDOPS_DB_CONN_MAX_IDLE_TIME", 5*time.Minute),
		DBStatementTimeout: r.duration("FIELDOPS_DB_STATEMENT_TIMEOUT", 10*time.Second),

		Addr:            r.str("FIELDOPS_ADDR", ":8080"),
		ReadTimeout:     r.duration("FIELDOPS_READ_TIMEOUT", 15*time.Second),
		WriteTimeout:    r.duration("FIELDOPS_WRITE_TIMEOUT", 30*time.Second),
		IdleTimeout:     r.duration("FIELDOPS_IDLE_TIMEOUT", 60*time.Second),
		RequestTimeout:  r.duration("FIELDOPS_REQUEST_TIMEOUT", 15*time.Second),
		ShutdownTimeout: r.duration("FIELDOPS_SHUTDOWN_TIMEOUT", 20*time.Second),
		BodyLimit:       r.size("FIELDOPS_BODY_LIMIT", 2<<20),
		CORSOrigins:     r.list("FIELDOPS_CORS_ORIGINS"),
		TrustedProxies:  r.list("FIELDOPS_TRUSTED_PROXIES"),
		LogLevel:        r.oneOf("FIELDOPS_LOG_LEVEL", "info", "debug", "info", "warn", "error"),

		JWTSecret:           r.str("FIELDOPS_JWT_SECRET", ""),
		AccessTokenTTL:      r.duration("FIELDOPS_ACCESS_TOKEN_TTL", 10*time.Minute),
		RefreshTokenTTL:     r.duration("FIELDOPS_REFRESH_TOKEN_TTL", 30*24*time.Hour),
		RefreshReuseGrace:   r.duration("FIELDOPS_REFRESH_REUSE_GRACE", 30*time.Second),
		HashConcurrency:     r.intRange("FIELDOPS_HASH_CONCURRENCY", runtime.NumCPU(), 1, 256),
		LoginLimitPerIP:     r.intRange("FIELDOPS_LOGIN_LIMIT_PER_IP", 30, 1, 1_000_000),
		LoginLimitIPWindow:  r.duration("FIELDOPS_LOGIN_LIMIT_IP_WINDOW", time.Minute),
		LoginLimitAccount:   r.intRange("FIELDOPS_LOGIN_LIMIT_PER_ACCOUNT", 10, 1, 1_000_000),
		LoginLimitAccWindow: r.duration("FIELDOPS_LOGIN_LIMIT_ACCOUNT_WINDOW", 15*time.Minute),
		IdempotencyTTL:      r.duration("FIELDOPS_IDEMPOTENCY_TTL", 30*24*time.Hour),

		Workers:           r.boolean("FIELDOPS_WORKERS", true),
		WorkerConcurrency: r.intRange("FIELDOPS_WORKER_CONCURRENCY", 20, 1, 10_000),
		SLAAlarmWorkers:   r.intRange("FIELDOPS_SLA_ALARM_WORKERS", 100, 1, 10_000),
		PushWorkers:       r.intRange("FIELDOPS_PUSH_WORKERS", 100, 1, 10_000),

		BlobDriver:    r.oneOf("FIELDOPS_BLOB_DRIVER", "local", "local", "minio"),
		BlobLocalDir:  r.str("FIELDOPS_BLOB_LOCAL_DIR", "./data/blobs"),
		PublicBaseURL: r.str("FIELDOPS_PUBLIC_BASE_URL", ""),
		S3Endpoint:    r.str("FIELDOPS_S3_ENDPOINT", "127.0.0.1:9000"),
		S3AccessKey:   r.str("FIELDOPS_S3_ACCESS_KEY", ""),
		S3SecretKey:   r.str("FIELDOPS_S3_SECRET_KEY", ""),
		S3Bucket:      r.str("FIELDOPS_S3_BUCKET", "fieldops"),
		S3Region:      r.str("FIELDOPS_S3_REGION", "us-east-1"),
		S3UseTLS:      r.boolean("FIELDOPS_S3_USE_TLS", false),
		S3PathStyle:   r.boolean("FIELDOPS_S3_PATH_STYLE", true),

		S3PublicEndpoint: r.str("FIELDOPS_S3_PUBLIC_ENDPOINT", ""),
		PhotoMaxBytes:    r.size("FIELDOPS_PHOTO_MAX_BYTES", 25*1000*1000),
		PhotoMaxPixels:   r.intRange("FIELDOPS_PHOTO_MAX_PIXELS", 100_000_000, 1_000_000, 1_000_000_000),
		UploadURLTTL:     r.duration("FIELDOPS_UPLOAD_URL_TTL", 15*time.Minute),
		DownloadURLTTL:   r.duration("FIELDOPS_DOWNLOAD_URL_TTL", 10*time.Minute),
		PendingUploadTTL: r.duration("FIELDOPS_PENDING_UPLOAD_TTL", 72*time.Hour),

		PushDriver:         r.oneOf("FIELDOPS_PUSH_DRIVER", pushDefault, "log", "fcm"),
		FCMProjectID:       r.str("FIELDOPS_FCM_PROJECT_ID", ""),
		FCMCredentialsFile: r.str("FIELDOPS_FCM_CREDENTIALS_FILE", ""),
		FCMEndpoint:        r.str("FIELDOPS_FCM_ENDPOINT", ""),

		SyncMaxChanges: r.intRange("FIELDOPS_SYNC_MAX_CHANGES", 500, 1, 10_000),
		SyncMaxBytes:   r.size("FIELDOPS_SYNC_MAX_BYTES", 4<<20),
		SyncRetention:  r.duration("FIELDOPS_SYNC_RETENTION", 30*24*time.Hour),
	}

	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		r.fail("DATABASE_URL", "must be a postgres:// URL")
	}
	// Idle defaults to the pool size: a smaller idle limit closes every connection handed
	// back during a burst beyond it, and the next burst pays a backend fork, cold caches and
	// statements prepared again (docs/BENCHMARKS.md). FIELDOPS_DB_CONN_MAX_IDLE_TIME closes
	// connections a burst left idle.
	c.DBMaxIdleConns = r.intRange("FIELDOPS_DB_MAX_IDLE_CONNS", c.DBMaxOpenConns, 0, 1000)
	if c.DBMaxIdleConns > c.DBMaxOpenConns {
		r.fail("FIELDOPS_DB_MAX_IDLE_CONNS", "must not exceed FIELDOPS_DB_MAX_OPEN_CONNS")
	}
	if c.AccessTokenTTL > 10*time.Minute || c.AccessTokenTTL < 30*time.Second {
		r.fail("FIELDOPS_ACCESS_TOKEN_TTL", "must be between 30s and 10m")
	}
	if c.RefreshTokenTTL < time.Hour {
		r.fail("FIELDOPS_REFRESH_TOKEN_TTL", "must be at least 1h")
	}
	if c.IdempotencyTTL < 30*24*time.Hour {
		r.fail("FIELDOPS_IDEMPOTENCY_TTL", "must be at least 720h (30 days): phones sync late")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"FIELDOPS_READ_TIMEOUT", c.ReadTimeout}, {"FIELDOPS_WRITE_TIMEOUT", c.WriteTimeout}, {"FIELDOPS_REQUEST_TIMEOUT", c.RequestTimeout}, {"FIELDOPS_DB_STATEMENT_TIMEOUT", c.DBStatementTimeout}} {
		if d.v <= 0 {
			r.fail(d.name, "must be positive")
		}
	}
	if c.JWTSecret == "" {
		if c.Env == "production" {
			r.fail("FIELDOPS_JWT_SECRET", "is required when FIELDOPS_ENV=production (at least 32 characters)")
		} else {
			buf := make([]byte, 32)
			_, _ = rand.Read(buf)
			c.JWTSecret = hex.EncodeToString(buf)
			c.JWTSecretGenerated = true
		}
	} else if len(c.JWTSecret) < 32 {
		r.fail("FIELDOPS_JWT_SECRET", "must be at least 32 characters")
	}
	if c.BlobDriver == "minio" && (c.S3AccessKey == "" || c.S3SecretKey == "") {
		r.fail("FIELDOPS_S3_ACCESS_KEY", "and FIELDOPS_S3_SECRET_KEY are required when FIELDOPS_BLOB_DRIVER=minio")
	}
	if c.PublicBaseURL != "" {
		if u, err := url.Parse(c.PublicBaseURL); err != nil || u.Scheme == "" || u.Host == "" {
			r.fail("FIELDOPS_PUBLIC_BASE_URL", "must be an absolute URL such as https://fieldops.example.com")
		}
	}
	if c.UploadURLTTL < time.Second || c.UploadURLTTL > 7*24*time.Hour {
		r.fail("FIELDOPS_UPLOAD_URL_TTL", "must be between 1s and 168h")
	}
	if c.DownloadURLTTL < time.Second || c.DownloadURLTTL > 7*24*time.Hour {
		r.fail("FIELDOPS_DOWNLOAD_URL_TTL", "must be between 1s and 168h")
	}
	if c.PendingUploadTTL < time.Hour {
		r.fail("FIELDOPS_PENDING_UPLOAD_TTL", "must be at least 1h")
	}
	if c.SyncRetention < 24*time.Hour {
		r.fail("FIELDOPS_SYNC_RETENTION", "must be at least 24h: phones stay offline for a shift or more")
	}
	// Phones use TLS to the public endpoint like the API does to S3, unless told otherwise.
	c.S3PublicUseTLS = r.boolean("FIELDOPS_S3_PUBLIC_USE_TLS", c.S3UseTLS)
	if c.PushDriver == "fcm" && c.FCMProjectID == "" {
		r.fail("FIELDOPS_FCM_PROJECT_ID", "is required when FIELDOPS_PUSH_DRIVER=fcm")
	}
	if c.FCMEndpoint != "" {
		if u, err := url.Parse(c.FCMEndpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			r.fail("FIELDOPS_FCM_ENDPOINT", "must be an http(s) URL such as http://127.0.0.1:9099/v1")
		}
	}
	if len(r.errs) > 0 {
		return nil, errors.Join(r.errs...)
	}
	return c, nil
}

// FromEnv loads from the process environment.
func FromEnv() (*Config, error) { return Load(os.Getenv) }

// Masked lists the settings for the start-up log, with secrets hidden.
func (c *Config) Masked() map[string]any {
	secret := func(s string) string {
		if s == "" {
			return ""
		}
		return "****"
	}
	dbURL := c.DatabaseURL
	if u, err := url.Parse(c.DatabaseURL); err == nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "****")
		}
		dbURL = u.String()
	}
	return map[string]any{
		"env": c.Env, "database_url": dbURL, "db_max_open_conns": c.DBMaxOpenConns, "db_max_idle_conns": c.DBMaxIdleConns,
		"db_conn_max_lifetime": c.DBConnMaxLifetime.String(), "db_statement_timeout": c.DBStatementTimeout.String(),
		"addr": c.Addr, "read_timeout": c.ReadTimeout.String(), "write_timeout": c.WriteTimeout.String(),
		"idle_timeout": c.IdleTimeout.String(), "request_timeout": c.RequestTimeout.String(), "body_limit": c.BodyLimit,
		"cors_origins": c.CORSOrigins, "trusted_proxies": c.TrustedProxies, "log_level": c.LogLevel,
		"jwt_secret": secret(c.JWTSecret), "jwt_secret_generated": c.JWTSecretGenerated,
		"access_token_ttl": c.AccessTokenTTL.String(), "refresh_token_ttl": c.RefreshTokenTTL.String(),
		"hash_concurrency": c.HashConcurrency, "login_limit_per_ip": c.LoginLimitPerIP, "login_limit_per_account": c.LoginLimitAccount,
		"idempotency_ttl": c.IdempotencyTTL.String(), "workers": c.Workers, "worker_concurrency": c.WorkerConcurrency,
		"sla_alarm_workers": c.SLAAlarmWorkers, "push_workers": c.PushWorkers,
		"blob_driver": c.BlobDriver, "blob_local_dir": c.BlobLocalDir, "public_base_url": c.PublicBaseURL,
		"s3_endpoint": c.S3Endpoint, "s3_access_key": secret(c.S3AccessKey), "s3_secret_key": secret(c.S3SecretKey),
		"s3_bucket": c.S3Bucket, "s3_use_tls": c.S3UseTLS, "s3_public_endpoint": c.S3PublicEndpoint,
		"s3_public_use_tls": c.S3PublicUseTLS, "photo_max_bytes": c.PhotoMaxBytes,
		"photo_max_pixels": c.PhotoMaxPixels, "upload_url_ttl": c.UploadURLTTL.String(), "download_url_ttl": c.DownloadURLTTL.String(),
		"pending_upload_ttl": c.PendingUploadTTL.String(), "push_driver": c.PushDriver, "fcm_project_id": c.FCMProjectID,
		"fcm_credentials_file": c.FCMCredentialsFile, "fcm_endpoint": c.FCMEndpoint,
		"sync_max_changes": c.SyncMaxChanges, "sync_max_bytes": c.SyncMaxBytes,
		"sync_retention": c.SyncRetention.String(),
	}
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(name, msg string) { r.errs = append(r.errs, fmt.Errorf("%s %s", name, msg)) }

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) list(name string) []string {
	var out []string
	for _, p := range strings.Split(r.getenv(name), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := r.str(name, def)
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), v))
	return def
}

func (r *reader) intRange(name string, def, lo, hi int) int {
	raw := r.str(name, "")
	if raw == "" {
		return def
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < lo || v > hi {
		r.fail(name, fmt.Sprintf("must be a whole number from %d to %d, got %q", lo, hi, raw))
		return def
	}
	return v
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	raw := r.str(name, "")
	if raw == "" {
		return def
	}
	v, err := time.ParseDuration(raw)
	if err != nil {
		r.fail(name, fmt.Sprintf("must be a duration such as 30s or 10m, got %q", raw))
		return def
	}
	return v
}

func (r *reader) boolean(name string, def bool) bool {
	raw := r.str(name, "")
	if raw == "" {
		return def
	}
	v, err := strconv.ParseBool(raw)
	if err != nil {
		r.fail(name, fmt.Sprintf("must be true or false, got %q", raw))
		return def
	}
	return v
}

// size reads a byte count: 1048576, 512KiB, 2MiB.
func (r *reader) size(name string, def int) int {
	raw := r.str(name, "")
	if raw == "" {
		return def
	}
	mult := 1
	num := raw
	for _, u := range []struct {
		suffix string
		m      int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000_000}, {"B", 1}} {
		if strings.HasSuffix(raw, u.suffix) {
			num, mult = strings.TrimSuffix(raw, u.suffix), u.m
			break
		}
	}
	v, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil || v <= 0 {
		r.fail(name, fmt.Sprintf("must be a size such as 2MiB or 1048576, got %q", raw))
		return def
	}
	return v * mult
}
