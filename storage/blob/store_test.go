package blob_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/storage/blob"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// storeCase is one store under the shared contract, with the statuses it answers a
// refused upload with (MinIO: a changed signed header is a signature failure, 403).
type storeCase struct {
	name                                            string
	store                                           attachment.BlobStore
	tamperStatus, lengthStatus, typeStatus, expired int
}

// newMinIOStore makes a bucket for this test and removes it (with its objects) after.
func newMinIOStore(t testing.TB) (*blob.MinIO, blob.MinIOOptions) {
	t.Helper()
	bucket := "fieldops-test-" + randomHex(t, 8)
	o := minioOptions(t, bucket)
	m, err := blob.NewMinIO(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.EnsureBucket(ctx, o.Region); err != nil {
		pgtest.Unavailable(t, "MinIO", err)
	}
	t.Cleanup(func() { removeBucket(t, o) })
	return m, o
}

func removeBucket(t testing.TB, o blob.MinIOOptions) {
	c, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Region: o.Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Error(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for obj := range c.ListObjects(ctx, o.Bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err == nil {
			_ = c.RemoveObject(ctx, o.Bucket, obj.Key, minio.RemoveObjectOptions{})
		}
	}
	if err := c.RemoveBucket(ctx, o.Bucket); err != nil {
		t.Errorf("remove bucket %s: %v", o.Bucket, err)
	}
}

// newLocalStore serves the local store's signed URLs the way api/blobs.go does.
func newLocalStore(t *testing.T) (*blob.Local, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "blobs")
	srv := httptest.NewUnstartedServer(nil)
	l, err := blob.NewLocal(dir, []byte("test-secret-test-secret-test-secret"), blob.LocalOptions{BaseURL: "http://" + srv.Listener.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = localHandler(l)
	srv.Start()
	t.Cleanup(srv.Close)
	return l, dir
}

func localHandler(l *blob.Local) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, err := url.PathUnescape(strings.TrimPrefix(r.URL.EscapedPath(), "/blobs/"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		switch r.Method {
		case http.MethodPut:
			err = l.ServeUpload(r.Context(), key, r.URL.Query(), r.Header.Get("Content-Type"), r.ContentLength, r.Body)
			if err == nil {
				w.WriteHeader(http.StatusOK)
				return
			}
		case http.MethodGet:
			var rc io.ReadCloser
			var info attachment.ObjectInfo
			rc, info, err = l.ServeDownload(r.Context(), key, r.URL.Query())
			if err == nil {
				defer rc.Close()
				w.Header().Set("Content-Type", info.ContentType)
				_, _ = io.Copy(w, rc)
				return
			}
		}
		e, _ := apperr.As(err)
		status := map[apperr.Kind]int{apperr.KindBadRequest: 400, apperr.KindForbidden: 403, apperr.KindNotFound: 404}[e.Kind]
		if status == 0 {
			status = 500
		}
		http.Error(w, e.Code, status)
	})
}

func TestBlobStores(t *testing.T) {
	m, _ := newMinIOStore(t)
	l, dir := newLocalStore(t)
	cases := []storeCase{
		{name: "MinIO", store: m, tamperStatus: 400, lengthStatus: 403, typeStatus: 403, expired: 403},
		{name: "Local", store: l, tamperStatus: 400, lengthStatus: 400, typeStatus: 400, expired: 403},
	}
	for _, sc := range cases {
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			testStore(t, sc)
		})
	}
	t.Cleanup(func() {
		// Refused and finished uploads leave no temporary file behind.
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), ".tmp-") {
				t.Errorf("temporary file left: %s", p)
			}
			return nil
		})
	})
}

func testStore(t *testing.T, sc storeCase) {
	s := sc.store
	ctx := context.Background()
	photo := randomBytes(t, 300_000)
	sum := sha256.Sum256(photo)

	t.Run("upload, stat, read, download", func(t *testing.T) {
		key := "attachments/" + randomHex(t, 8) + "/original"
		up, err := s.PresignPut(ctx, key, "image/jpeg", int64(len(photo)), sum[:], time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if up.Method != "PUT" || time.Until(up.ExpiresAt) < 50*time.Second || up.Headers["Content-Type"] != "image/jpeg" {
			t.Fatalf("upload %+v", up)
		}
		if status, body := phonePut(t, up, photo, nil); status != 200 {
			t.Fatalf("PUT: %d %s", status, body)
		}
		info, err := s.Stat(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size != int64(len(photo)) || !bytes.Equal(info.SHA256, sum[:]) || info.ContentType != "image/jpeg" {
			t.Fatalf("stat: size %d sha %x type %q", info.Size, info.SHA256, info.ContentType)
		}
		for _, r := range []struct{ off, n, want int64 }{{0, 16, 16}, {1000, 5000, 5000}, {int64(len(photo)) - 5, 100, 5}, {int64(len(photo)), 10, 0}, {int64(len(photo)) + 10, 10, 0}} {
			got, err := s.ReadRange(ctx, key, r.off, r.n)
			if err != nil {
				t.Fatalf("ReadRange(%d, %d): %v", r.off, r.n, err)
			}
			end := min(r.off+r.want, int64(len(photo)))
			if int64(len(got)) != r.want || (r.want > 0 && !bytes.Equal(got, photo[r.off:end])) {
				t.Fatalf("ReadRange(%d, %d): %d bytes, want %d", r.off, r.n, len(got), r.want)
			}
		}
		rc, err := s.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		all, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil || !bytes.Equal(all, photo) {
			t.Fatalf("Get: %d bytes, %v", len(all), err)
		}
		u, err := s.PresignGet(ctx, key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		status, got := phoneGet(t, u)
		if status != 200 || !bytes.Equal(got, photo) {
			t.Fatalf("presigned GET: %d, %d bytes", status, len(got))
		}
		// A phone retrying the same upload is fine: the bytes are the same.
		if status, body := phonePut(t, up, photo, nil); status != 200 {
			t.Fatalf("retried PUT: %d %s", status, body)
		}
	})

	refused := []struct {
		name   string
		body   func() []byte
		header map[string]string
		want   int
	}{
		{"tampered body", func() []byte { b := bytes.Clone(photo); b[len(b)/2] ^= 0xff; return b }, nil, sc.tamperStatus},
		{"longer body", func() []byte { return append(bytes.Clone(photo), 0) }, nil, sc.lengthStatus},
		{"shorter body", func() []byte { return photo[:len(photo)-1] }, nil, sc.lengthStatus},
		{"other content type", func() []byte { return photo }, map[string]string{"Content-Type": "image/png"}, sc.typeStatus},
	}
	for _, tc := range refused {
		t.Run(tc.name+" is refused and nothing is stored", func(t *testing.T) {
			key := "attachments/" + randomHex(t, 8) + "/original"
			up, err := s.PresignPut(ctx, key, "image/jpeg", int64(len(photo)), sum[:], time.Minute)
			if err != nil {
				t.Fatal(err)
			}
			if status, body := phonePut(t, up, tc.body(), tc.header); status != tc.want {
				t.Fatalf("PUT: %d %s, want %d", status, body, tc.want)
			}
			if _, err := s.Stat(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
				t.Fatalf("Stat after a refused upload: %v", err)
			}
		})
	}

	t.Run("expired URLs are refused", func(t *testing.T) {
		key := "attachments/" + randomHex(t, 8) + "/original"
		up, err := s.PresignPut(ctx, key, "image/jpeg", int64(len(photo)), sum[:], time.Second)
		if err != nil {
			t.Fatal(err)
		}
		stored := "attachments/" + randomHex(t, 8) + "/thumb"
		if err := s.Put(ctx, stored, bytes.NewReader(photo[:100]), 100, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		get, err := s.PresignGet(ctx, stored, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond)
		if status, body := phonePut(t, up, photo, nil); status != sc.expired {
			t.Fatalf("expired PUT: %d %s", status, body)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("Stat after an expired upload: %v", err)
		}
		if status, _ := phoneGet(t, get); status != sc.expired {
			t.Fatalf("expired GET: %d", status)
		}
	})

	t.Run("put, stat, delete", func(t *testing.T) {
		key := "attachments/" + randomHex(t, 8) + "/thumb"
		thumb := randomBytes(t, 5000)
		if err := s.Put(ctx, key, bytes.NewReader(thumb), int64(len(thumb)), "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		info, err := s.Stat(ctx, key)
		want := sha256.Sum256(thumb)
		if err != nil || info.Size != 5000 || info.ContentType != "image/jpeg" || !bytes.Equal(info.SHA256, want[:]) {
			t.Fatalf("stat: %+v %v", info, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("Stat after Delete: %v", err)
		}
		if err := s.Put(ctx, key, bytes.NewReader(thumb[:10]), 11, "image/jpeg"); err == nil {
			t.Fatal("Put of fewer bytes than the size must fail")
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("Stat after a short Put: %v", err)
		}
	})

	t.Run("missing objects", func(t *testing.T) {
		key := "attachments/" + randomHex(t, 8) + "/original"
		if _, err := s.Stat(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("Stat: %v", err)
		}
		if _, err := s.Get(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("Get: %v", err)
		}
		if _, err := s.ReadRange(ctx, key, 0, 10); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("ReadRange: %v", err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		u, err := s.PresignGet(ctx, key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if status, _ := phoneGet(t, u); status != 404 {
			t.Fatalf("presigned GET of a missing object: %d", status)
		}
	})

	t.Run("bad keys are refused", func(t *testing.T) {
		for _, key := range []string{"", "../x", "/etc/passwd", "a/../../x", "a//b", "a/.hidden", "a/b.meta", `a\b`, "a/b/"} {
			if _, err := s.PresignPut(ctx, key, "image/jpeg", 1, sum[:], time.Minute); err == nil {
				t.Errorf("PresignPut(%q) must fail", key)
			}
			if _, err := s.PresignGet(ctx, key, time.Minute); err == nil {
				t.Errorf("PresignGet(%q) must fail", key)
			}
		}
	})
}

// phonePut sends the presigned request with a plain HTTP client, as a phone would.
func phonePut(t *testing.T, up attachment.Upload, body []byte, override map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Headers {
		if !strings.EqualFold(k, "Content-Length") { // net/http sends the body's own length
			req.Header.Set(k, v)
		}
	}
	for k, v := range override {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

func phoneGet(t *testing.T, u string) (int, []byte) {
	t.Helper()
	res, err := http.Get(u) //nolint:noctx // a test client
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, out
}

func TestMinIOPresignWhileDown(t *testing.T) {
	// Closed port, no region given: presigning must not ask the network for anything.
	m, err := blob.NewMinIO(blob.MinIOOptions{Endpoint: "127.0.0.1:1", AccessKey: "x", SecretKey: "y", Bucket: "fieldops", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sum := sha256.Sum256([]byte("photo"))
	start := time.Now()
	up, err := m.PresignPut(ctx, "attachments/x/original", "image/jpeg", 5, sum[:], 15*time.Minute)
	if err != nil {
		t.Fatalf("PresignPut with MinIO down: %v", err)
	}
	if _, err := m.PresignGet(ctx, "attachments/x/original", time.Minute); err != nil {
		t.Fatalf("PresignGet with MinIO down: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("presigning took %s: it went to the network", d)
	}
	u, _ := url.Parse(up.URL)
	signed := u.Query().Get("X-Amz-SignedHeaders")
	if u.Host != "127.0.0.1:1" || signed != "content-length;content-type;host;x-amz-checksum-sha256" {
		t.Fatalf("url %s", up.URL)
	}
	if up.Headers["X-Amz-Checksum-Sha256"] == "" || up.Headers["Content-Length"] != "5" {
		t.Fatalf("headers %v", up.Headers)
	}
	// And every call that needs the store says it is unavailable (503), not missing, soon.
	start = time.Now()
	if _, err := m.Stat(ctx, "attachments/x/original"); !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Stat with MinIO down: %v", err)
	}
	if _, err := m.Get(ctx, "attachments/x/original"); !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Get with MinIO down: %v", err)
	}
	if err := m.Delete(ctx, "attachments/x/original"); !errors.Is(err, apperr.ErrUnavailable) {
		t.Fatalf("Delete with MinIO down: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("three calls against a closed port took %s", d)
	}
}

func TestMinIOPublicEndpoint(t *testing.T) {
	_, o := newMinIOStore(t)
	host, port, _ := strings.Cut(o.Endpoint, ":")
	if host != "127.0.0.1" {
		t.Skipf("needs the endpoint on 127.0.0.1, got %s", o.Endpoint)
	}
	// The API talks to 127.0.0.1; phones are given "localhost", another name of the same server.
	o.PublicEndpoint = "http://localhost:" + port
	m, err := blob.NewMinIO(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	data := []byte("a photo through the public name")
	sum := sha256.Sum256(data)
	up, err := m.PresignPut(ctx, "attachments/pub/original", "image/jpeg", int64(len(data)), sum[:], time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(up.URL, "http://localhost:"+port+"/"+o.Bucket+"/attachments/pub/original?") {
		t.Fatalf("url %s", up.URL)
	}
	if status, body := phonePut(t, up, data, nil); status != 200 {
		t.Fatalf("PUT: %d %s", status, body)
	}
	info, err := m.Stat(ctx, "attachments/pub/original")
	if err != nil || !bytes.Equal(info.SHA256, sum[:]) {
		t.Fatalf("stat %+v %v", info, err)
	}
	get, err := m.PresignGet(ctx, "attachments/pub/original", time.Minute)
	if err != nil || !strings.HasPrefix(get, "http://localhost:") {
		t.Fatalf("get url %s %v", get, err)
	}
	if status, got := phoneGet(t, get); status != 200 || !bytes.Equal(got, data) {
		t.Fatalf("GET %d %q", status, got)
	}
	if _, err := blob.NewMinIO(blob.MinIOOptions{Endpoint: o.Endpoint, PublicEndpoint: "https://files.example.com/x"}); err == nil {
		t.Fatal("a public endpoint with a path must be refused")
	}
}

func TestLocalSignedURLs(t *testing.T) {
	l, dir := newLocalStore(t)
	ctx := context.Background()
	data := []byte("photo bytes")
	sum := sha256.Sum256(data)
	key := "attachments/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/original"
	up, err := l.PresignPut(ctx, key, "image/jpeg", int64(len(data)), sum[:], time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	if !strings.Contains(u.RawPath, "attachments%2F0190a1b2") || u.Query().Get("sha256") != hex.EncodeToString(sum[:]) {
		t.Fatalf("url %s", up.URL)
	}
	q := u.Query()
	code := func(err error) string {
		if e, ok := apperr.As(err); ok {
			return e.Code
		}
		return "not apperr: " + errString(err)
	}
	tamper := func(name, value string) url.Values {
		c := url.Values{}
		for k, v := range q {
			c[k] = v
		}
		c.Set(name, value)
		return c
	}
	upload := func(key string, q url.Values, ct string, n int64, body []byte) error {
		return l.ServeUpload(ctx, key, q, ct, n, bytes.NewReader(body))
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"no signature", upload(key, tamper("sig", ""), "image/jpeg", 11, data), "signature-invalid"},
		{"changed length", upload(key, tamper("len", "12"), "image/jpeg", 12, append(bytes.Clone(data), 'x')), "signature-invalid"},
		{"changed checksum", upload(key, tamper("sha256", strings.Repeat("00", 32)), "image/jpeg", 11, data), "signature-invalid"},
		{"changed type", upload(key, tamper("ct", "image/png"), "image/png", 11, data), "signature-invalid"},
		{"later expiry", upload(key, tamper("exp", "99999999999"), "image/jpeg", 11, data), "signature-invalid"},
		{"other key", upload("attachments/other/original", q, "image/jpeg", 11, data), "signature-invalid"},
		{"escaping key", upload("../outside", q, "image/jpeg", 11, data), "invalid-key"},
		{"absolute key", upload("/etc/passwd", q, "image/jpeg", 11, data), "invalid-key"},
		{"content type", upload(key, q, "image/png", 11, data), "content-type-mismatch"},
		{"content length header", upload(key, q, "image/jpeg", 10, data[:10]), "length-mismatch"},
		{"short body, unknown length", upload(key, q, "image/jpeg", -1, data[:10]), "length-mismatch"},
		{"long body, unknown length", upload(key, q, "image/jpeg", -1, append(bytes.Clone(data), 'x')), "length-mismatch"},
		{"checksum", upload(key, q, "image/jpeg", 11, []byte("PHOTO BYTES")), "checksum-mismatch"},
	}
	for _, tc := range cases {
		if got := code(tc.err); got != tc.want {
			t.Errorf("%s: %s (%v), want %s", tc.name, got, tc.err, tc.want)
		}
	}
	if _, err := l.Stat(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
		t.Fatalf("refused uploads stored something: %v", err)
	}
	if err := upload(key, q, "image/jpeg", -1, data); err != nil {
		t.Fatalf("upload with the signed query: %v", err)
	}
	// A download URL does not allow an upload, nor the reverse.
	g, _ := l.PresignGet(ctx, key, time.Minute)
	gu, _ := url.Parse(g)
	if err := upload(key, gu.Query(), "image/jpeg", 11, data); code(err) != "signature-invalid" {
		t.Fatalf("upload with a download URL: %v", err)
	}
	if _, _, err := l.ServeDownload(ctx, key, q); code(err) != "signature-invalid" {
		t.Fatalf("download with an upload URL: %v", err)
	}
	rc, info, err := l.ServeDownload(ctx, key, gu.Query())
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	_ = rc.Close()
	if !bytes.Equal(got, data) || info.Size != 11 || info.ContentType != "image/jpeg" {
		t.Fatalf("download %q %+v", got, info)
	}
	// The store keeps only the object and its content type.
	var names []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, filepath.ToSlash(rel))
		}
		return nil
	})
	if strings.Join(names, ",") != key+","+key+".meta" {
		t.Fatalf("files %v", names)
	}
	// Another secret makes other signatures.
	other, err := blob.NewLocal(dir, []byte("another-secret-another-secret"), blob.LocalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := other.ServeDownload(ctx, key, gu.Query()); code(err) != "signature-invalid" {
		t.Fatalf("download with another secret: %v", err)
	}
	rel, _ := other.PresignGet(ctx, key, time.Minute)
	if !strings.HasPrefix(rel, "/blobs/attachments%2F") {
		t.Fatalf("path-only URL %s", rel)
	}
	if abs := blob.AbsoluteURL("https://api.example.com/", rel); abs != "https://api.example.com"+rel {
		t.Fatalf("AbsoluteURL %s", abs)
	}
	if abs := blob.AbsoluteURL("https://api.example.com", "http://minio:9000/b/k"); abs != "http://minio:9000/b/k" {
		t.Fatalf("AbsoluteURL of an absolute URL %s", abs)
	}
	if _, err := blob.NewLocal(dir, []byte("short"), blob.LocalOptions{}); err == nil {
		t.Fatal("a short secret must be refused")
	}
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func randomHex(t testing.TB, n int) string { return hex.EncodeToString(randomBytes(t, n)) }
