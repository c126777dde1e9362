package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":8080" || c.AccessTokenTTL != 10*time.Minute || c.DBMaxOpenConns != 20 || c.BlobDriver != "local" || c.PushDriver != "log" {
		t.Fatalf("defaults: %+v", c)
	}
	if c.DBMaxIdleConns != c.DBMaxOpenConns {
		t.Fatalf("idle connections default to the pool size: %d idle, %d open", c.DBMaxIdleConns, c.DBMaxOpenConns)
	}
	if c, err := Load(env(map[string]string{"FIELDOPS_DB_MAX_OPEN_CONNS": "40"})); err != nil || c.DBMaxIdleConns != 40 {
		t.Fatalf("idle follows a larger pool: %v %+v", err, c)
	}
	if c, err := Load(env(map[string]string{"FIELDOPS_DB_MAX_OPEN_CONNS": "40", "FIELDOPS_DB_MAX_IDLE_CONNS": "8"})); err != nil || c.DBMaxIdleConns != 8 {
		t.Fatalf("an idle limit set stays: %v %+v", err, c)
	}
	if !c.JWTSecretGenerated || len(c.JWTSecret) < 32 {
		t.Fatal("development start must generate a secret")
	}
	if c.IdempotencyTTL < 30*24*time.Hour {
		t.Fatal("idempotency keys must be kept 30 days by default")
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]map[string]string{
		"FIELDOPS_DB_MAX_OPEN_CONNS":    {"FIELDOPS_DB_MAX_OPEN_CONNS": "lots"},
		"FIELDOPS_ACCESS_TOKEN_TTL":     {"FIELDOPS_ACCESS_TOKEN_TTL": "1h"},
		"FIELDOPS_READ_TIMEOUT":         {"FIELDOPS_READ_TIMEOUT": "soon"},
		"FIELDOPS_WORKERS":              {"FIELDOPS_WORKERS": "maybe"},
		"FIELDOPS_PUSH_WORKERS":         {"FIELDOPS_PUSH_WORKERS": "0"},
		"FIELDOPS_SLA_ALARM_WORKERS":    {"FIELDOPS_SLA_ALARM_WORKERS": "many"},
		"FIELDOPS_BLOB_DRIVER":          {"FIELDOPS_BLOB_DRIVER": "ftp"},
		"FIELDOPS_S3_ACCESS_KEY":        {"FIELDOPS_BLOB_DRIVER": "minio"},
		"FIELDOPS_JWT_SECRET":           {"FIELDOPS_JWT_SECRET": "short"},
		"DATABASE_URL":                  {"DATABASE_URL": "mysql://x"},
		"FIELDOPS_BODY_LIMIT":           {"FIELDOPS_BODY_LIMIT": "2 potatoes"},
		"FIELDOPS_IDEMPOTENCY_TTL":      {"FIELDOPS_IDEMPOTENCY_TTL": "24h"},
		"FIELDOPS_DB_MAX_IDLE_CONNS":    {"FIELDOPS_DB_MAX_OPEN_CONNS": "5", "FIELDOPS_DB_MAX_IDLE_CONNS": "10"},
		"FIELDOPS_FCM_PROJECT_ID":       {"FIELDOPS_PUSH_DRIVER": "fcm"},
		"FIELDOPS_FCM_ENDPOINT":         {"FIELDOPS_FCM_ENDPOINT": "not a url"},
		"FIELDOPS_PUBLIC_BASE_URL":      {"FIELDOPS_PUBLIC_BASE_URL": "not a url"},
		"FIELDOPS_ENV":                  {"FIELDOPS_ENV": "staging"},
		"FIELDOPS_JWT_SECRET (prod)":    {"FIELDOPS_ENV": "production"},
		"FIELDOPS_LOGIN_LIMIT_PER_IP":   {"FIELDOPS_LOGIN_LIMIT_PER_IP": "0"},
		"FIELDOPS_DB_STATEMENT_TIMEOUT": {"FIELDOPS_DB_STATEMENT_TIMEOUT": "-1s"},
		"FIELDOPS_SYNC_MAX_CHANGES":     {"FIELDOPS_SYNC_MAX_CHANGES": "0"},
		"FIELDOPS_SYNC_MAX_BYTES":       {"FIELDOPS_SYNC_MAX_BYTES": "lots"},
		"FIELDOPS_SYNC_RETENTION":       {"FIELDOPS_SYNC_RETENTION": "1h"},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(env(vars))
			if err == nil {
				t.Fatal("accepted")
			}
			want := strings.Fields(name)[0]
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error does not name %s: %v", want, err)
			}
		})
	}
}

func TestSizesAndLists(t *testing.T) {
	c, err := Load(env(map[string]string{"FIELDOPS_BODY_LIMIT": "512KiB", "FIELDOPS_CORS_ORIGINS": " https://a.example , https://b.example,"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.BodyLimit != 512<<10 {
		t.Errorf("body limit %d", c.BodyLimit)
	}
	if len(c.CORSOrigins) != 2 || c.CORSOrigins[1] != "https://b.example" {
		t.Errorf("origins %q", c.CORSOrigins)
	}
}

func TestMaskedHidesSecrets(t *testing.T) {
	c, err := Load(env(map[string]string{
		"DATABASE_URL":           "postgres://app:hunter2@db:5432/fieldops",
		"FIELDOPS_JWT_SECRET":    "0123456789abcdef0123456789abcdef-secret",
		"FIELDOPS_BLOB_DRIVER":   "minio",
		"FIELDOPS_S3_ACCESS_KEY": "AKIAEXAMPLE",
		"FIELDOPS_S3_SECRET_KEY": "s3-very-secret",
	}))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for k, v := range c.Masked() {
		all.WriteString(k)
		all.WriteString("=")
		all.WriteString(strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(toString(v), "\n", " "), "\t", " ")))
		all.WriteString("\n")
	}
	for _, secret := range []string{"hunter2", "0123456789abcdef", "AKIAEXAMPLE", "s3-very-secret"} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("masked config shows %q", secret)
		}
	}
	if !strings.Contains(all.String(), "app:") || !strings.Contains(all.String(), "****") {
		t.Errorf("masked config lost the non-secret parts: %s", all.String())
	}
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case []string:
		return strings.Join(x, ",")
	}
	return ""
}
