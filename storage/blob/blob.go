// Package blob stores photo evidence: MinIO (or any S3-compatible service) through
// minio-go, or a local folder for development. Only the plain S3 API is used.
package blob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Store is a place for blobs. The photo flow (presigned upload, checks, derivatives)
// builds on it.
type Store interface {
	// Ready reports whether the store answers.
	Ready(ctx context.Context) error
	// Name is "minio" or "local".
	Name() string
}

// MinIOOptions say where the S3 service is.
type MinIOOptions struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseTLS    bool
	PathStyle bool
}

// MinIO is the S3 store.
type MinIO struct {
	client *minio.Client
	bucket string
}

// NewMinIO connects lazily; EnsureBucket makes the bucket at start.
func NewMinIO(o MinIOOptions) (*MinIO, error) {
	lookup := minio.BucketLookupDNS
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(o.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       o.UseTLS,
		Region:       o.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", o.Endpoint, err)
	}
	return &MinIO{client: c, bucket: o.Bucket}, nil
}

// EnsureBucket creates the bucket when it is missing.
func (m *MinIO) EnsureBucket(ctx context.Context, region string) error {
	ok, err := m.client.BucketExists(ctx, m.bucket)
	if err != nil {
		return apperr.Unavailable("blob store", err)
	}
	if ok {
		return nil
	}
	err = m.client.MakeBucket(ctx, m.bucket, minio.MakeBucketOptions{Region: region})
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && (resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists") {
			return nil
		}
		return apperr.Unavailable("blob store", err)
	}
	return nil
}

// Ready checks the bucket is reachable.
func (m *MinIO) Ready(ctx context.Context) error {
	ok, err := m.client.BucketExists(ctx, m.bucket)
	if err != nil {
		return apperr.Unavailable("blob store", err)
	}
	if !ok {
		return apperr.Unavailable("blob store", fmt.Errorf("bucket %q missing", m.bucket))
	}
	return nil
}

// Name implements Store.
func (m *MinIO) Name() string { return "minio" }

// Local keeps blobs in a folder; the API serves signed URLs for it.
type Local struct{ dir string }

// NewLocal makes the folder if needed.
func NewLocal(dir string) (*Local, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blob folder %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Local{dir: abs}, nil
}

// Ready checks the folder is writable.
func (l *Local) Ready(context.Context) error {
	f, err := os.CreateTemp(l.dir, ".ready-*")
	if err != nil {
		return apperr.Unavailable("blob folder", err)
	}
	name := f.Name()
	_ = f.Close()
	return os.Remove(name)
}

// Name implements Store.
func (l *Local) Name() string { return "local" }
