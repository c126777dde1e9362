package blob_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/fieldops/fieldops/storage/blob"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// minioOptions points at the MinIO that `make test` starts.
func minioOptions(t testing.TB, bucket string) blob.MinIOOptions {
	t.Helper()
	endpoint := os.Getenv("FIELDOPS_TEST_S3_ENDPOINT")
	if endpoint == "" {
		pgtest.Unavailable(t, "MinIO", errNoEndpoint)
	}
	return blob.MinIOOptions{
		Endpoint: endpoint, AccessKey: os.Getenv("FIELDOPS_TEST_S3_ACCESS_KEY"), SecretKey: os.Getenv("FIELDOPS_TEST_S3_SECRET_KEY"),
		Bucket: bucket, Region: "us-east-1", PathStyle: true,
	}
}

type noEndpoint struct{}

func (noEndpoint) Error() string { return "FIELDOPS_TEST_S3_ENDPOINT is not set" }

var errNoEndpoint = noEndpoint{}

func TestMinIOEnsureBucketAndReady(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bucket := "fieldops-test-" + time.Now().UTC().Format("20060102150405.000000")
	bucket = sanitize(bucket)
	m, err := blob.NewMinIO(minioOptions(t, bucket))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Ready(ctx); err == nil {
		t.Fatal("Ready before the bucket exists must fail")
	}
	if err := m.EnsureBucket(ctx, "us-east-1"); err != nil {
		pgtest.Unavailable(t, "MinIO", err)
	}
	if err := m.EnsureBucket(ctx, "us-east-1"); err != nil {
		t.Fatalf("second EnsureBucket: %v", err)
	}
	if err := m.Ready(ctx); err != nil {
		t.Fatalf("Ready: %v", err)
	}
}

func TestMinIOUnreachableIsUnavailable(t *testing.T) {
	m, err := blob.NewMinIO(blob.MinIOOptions{Endpoint: "127.0.0.1:1", AccessKey: "x", SecretKey: "y", Bucket: "b", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := m.Ready(ctx); err == nil {
		t.Fatal("Ready against a closed port must fail")
	}
}

func TestLocalReady(t *testing.T) {
	dir := t.TempDir() + "/blobs"
	l, err := blob.NewLocal(dir, []byte("test-secret-test-secret"), blob.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := l.Ready(context.Background()); err == nil {
		t.Fatal("Ready with the folder gone must fail")
	}
}

func sanitize(s string) string {
	out := []byte{}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' {
			out = append(out, c)
		}
	}
	return string(out)
}
