// Package blob stores photo evidence: MinIO (or any S3-compatible service) through
// minio-go, or a local folder for development. Only the plain S3 API is used.
package blob

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
)

// Store is a place for blobs. The photo flow (presigned upload, checks, derivatives)
// builds on it.
type Store interface {
	attachment.BlobStore
	// Ready reports whether the store answers.
	Ready(ctx context.Context) error
	// Name is "minio" or "local".
	Name() string
}

// Both stores are what attachments need.
var (
	_ attachment.BlobStore = (*MinIO)(nil)
	_ attachment.BlobStore = (*Local)(nil)
	_ Store                = (*MinIO)(nil)
	_ Store                = (*Local)(nil)
)

// DefaultRegion is used when MinIOOptions.Region is empty. A region must always be
// set: without one minio-go asks the server for the bucket's location before it
// presigns, and presigning must work while the store is down.
const DefaultRegion = "us-east-1"

// MinIOOptions say where the S3 service is.
type MinIOOptions struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
	UseTLS    bool
	PathStyle bool
	// PublicEndpoint is the host[:port] phones use to reach the store when it differs
	// from Endpoint (compose's minio:9000 behind files.example.com). Presigned URLs are
	// made for it, since the signature covers the host. Empty: Endpoint.
	// A URL (https://files.example.com) is accepted too; its scheme then sets PublicUseTLS.
	PublicEndpoint string
	PublicUseTLS   bool
	// MaxIdleConns is how many idle connections to the store are kept for reuse
	// (0: 256, minio-go's limit for all hosts).
	MaxIdleConns int
}

// MinIO is the S3 store.
type MinIO struct {
	client *minio.Client // what the API talks to
	public *minio.Client // what presigned URLs name; client when no public endpoint
	bucket string
}

// NewMinIO connects lazily; EnsureBucket makes the bucket at start.
func NewMinIO(o MinIOOptions) (*MinIO, error) {
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	c, err := newMinIOClient(o, o.Endpoint, o.UseTLS)
	if err != nil {
		return nil, err
	}
	m := &MinIO{client: c, public: c, bucket: o.Bucket}
	if o.PublicEndpoint != "" {
		endpoint, useTLS, err := splitEndpoint(o.PublicEndpoint, o.PublicUseTLS)
		if err != nil {
			return nil, err
		}
		if m.public, err = newMinIOClient(o, endpoint, useTLS); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func newMinIOClient(o MinIOOptions, endpoint string, useTLS bool) (*minio.Client, error) {
	lookup := minio.BucketLookupDNS
	if o.PathStyle {
		lookup = minio.BucketLookupPath
	}
	tr, err := minio.DefaultTransport(useTLS)
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", endpoint, err)
	}
	// minio-go keeps 16 idle connections per host. A burst of completions (every phone
	// of a walkthrough syncing at once) makes two requests each; past 16, each request
	// opened a connection and closed it after, which costs MinIO 5–15 % and the API
	// 15–30 % more CPU per stat and range read (BenchmarkMinIOCompletionReads). The API
	// talks to one store, so it keeps as many as it may hold.
	if o.MaxIdleConns > 0 {
		tr.MaxIdleConns = o.MaxIdleConns
	}
	tr.MaxIdleConnsPerHost = tr.MaxIdleConns
	c, err := minio.New(endpoint, &minio.Options{
		Transport:    tr,
		Creds:        credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure:       useTLS,
		Region:       o.Region,
		BucketLookup: lookup,
		// Needed for PutObject with a SHA-256 checksum (Put), which Stat then reports.
		TrailingHeaders: true,
		// minio-go retries 10 times by default (about 7 s against a closed port); a
		// request that needs the store should answer 503 quickly and be retried later.
		MaxRetries: 3,
	})
	if err != nil {
		return nil, fmt.Errorf("blob store %s: %w", endpoint, err)
	}
	return c, nil
}

// splitEndpoint accepts host[:port] or an http(s) URL without a path.
func splitEndpoint(s string, useTLS bool) (string, bool, error) {
	switch {
	case strings.HasPrefix(s, "https://"):
		s, useTLS = strings.TrimPrefix(s, "https://"), true
	case strings.HasPrefix(s, "http://"):
		s, useTLS = strings.TrimPrefix(s, "http://"), false
	}
	s = strings.TrimSuffix(s, "/")
	if s == "" || strings.Contains(s, "/") {
		return "", false, fmt.Errorf("blob store public endpoint %q: want host[:port] or a URL without a path", s)
	}
	return s, useTLS, nil
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

// Local keeps blobs in a folder; the API serves signed URLs for it (see local.go).
type Local struct {
	dir     string
	key     []byte // HMAC key of the signed URLs, derived from the secret
	baseURL string
}

// LocalOptions configure the local store.
type LocalOptions struct {
	// BaseURL prefixes the signed URLs (https://api.example.com). Empty: the URLs are
	// path-only (/blobs/…) and the API layer makes them absolute with AbsoluteURL and
	// the base of the request that asked for them.
	BaseURL string
}

// NewLocal makes the folder if needed. secret keys the HMAC of the signed URLs (the
// server passes the JWT secret; a key derived from it is used, never the secret itself).
func NewLocal(dir string, secret []byte, o LocalOptions) (*Local, error) {
	if len(secret) < 16 {
		return nil, errors.New("blob folder: the URL signing secret must be at least 16 bytes")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("blob folder %s: %w", dir, err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	return &Local{dir: abs, key: deriveKey(secret), baseURL: strings.TrimRight(o.BaseURL, "/")}, nil
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
