package api_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/storage/blob"
)

func init() {
	for _, ct := range []string{"image/jpeg", "image/png"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

func localStore(t *testing.T, env *apitest.Env) *blob.Local {
	t.Helper()
	l, ok := env.Server.Blob.(*blob.Local)
	if !ok {
		t.Fatalf("blob store is %T, want the local one", env.Server.Blob)
	}
	return l
}

func randomPhoto(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBlobRoutesLocal(t *testing.T) {
	env := apitest.New(t, apitest.WithoutDemo())
	l := localStore(t, env)
	ctx := context.Background()
	photo := randomPhoto(t, 40_000)
	sum := sha256.Sum256(photo)

	presign := func(t *testing.T, ttl time.Duration) (string, attachment.Upload) {
		t.Helper()
		key := "attachments/" + strings.ReplaceAll(time.Now().Format("150405.000000000"), ".", "-") + "/original"
		up, err := l.PresignPut(ctx, key, "image/jpeg", int64(len(photo)), sum[:], ttl)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(up.URL, "/blobs/attachments%2F") {
			t.Fatalf("without FIELDOPS_PUBLIC_BASE_URL the URL is path-only: %s", up.URL)
		}
		return key, up
	}
	put := func(t *testing.T, up attachment.Upload, body []byte, ct string, raw bool) *apitest.Resp {
		t.Helper()
		return env.Do(t, apitest.Req{Method: "PUT", Path: up.URL, Body: body, Headers: map[string]string{"Content-Type": ct}, RawInvalid: raw})
	}
	wantProblem := func(t *testing.T, res *apitest.Resp, status int, code string) {
		t.Helper()
		if res.Status != status {
			t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
		}
		if p := res.Problem(t); !strings.HasSuffix(p.Type, "/"+code) {
			t.Fatalf("problem %s, want %s", p.Type, code)
		}
	}
	notStored := func(t *testing.T, key string) {
		t.Helper()
		if _, err := l.Stat(ctx, key); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("something was stored: %v", err)
		}
	}
	tamper := func(u, name, value string) string {
		p, _ := url.Parse(u)
		q := p.Query()
		q.Set(name, value)
		p.RawQuery = q.Encode()
		return p.String()
	}

	t.Run("upload then download", func(t *testing.T) {
		key, up := presign(t, time.Minute)
		if res := put(t, up, photo, "image/jpeg", false); res.Status != 200 || len(res.Body) != 0 {
			t.Fatalf("PUT %d %s", res.Status, res.Body)
		}
		info, err := l.Stat(ctx, key)
		if err != nil || info.Size != int64(len(photo)) || !bytes.Equal(info.SHA256, sum[:]) {
			t.Fatalf("stat %+v %v", info, err)
		}
		get, err := l.PresignGet(ctx, key, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		res := env.Do(t, apitest.Req{Method: "GET", Path: get})
		if res.Status != 200 || !bytes.Equal(res.Body, photo) || res.Header.Get("Content-Type") != "image/jpeg" {
			t.Fatalf("GET %d %q, %d bytes", res.Status, res.Header.Get("Content-Type"), len(res.Body))
		}
		// A download URL is not an upload URL.
		wantProblem(t, env.Do(t, apitest.Req{Method: "PUT", Path: get, Body: photo, Headers: map[string]string{"Content-Type": "image/jpeg"}, RawInvalid: true}), 403, "signature-invalid")
	})

	cases := []struct {
		name   string
		url    func(up attachment.Upload) string
		body   []byte
		ct     string
		raw    bool
		status int
		code   string
	}{
		{"tampered body", func(up attachment.Upload) string { return up.URL }, append([]byte{photo[0] ^ 1}, photo[1:]...), "image/jpeg", false, 400, "checksum-mismatch"},
		{"shorter body", func(up attachment.Upload) string { return up.URL }, photo[:len(photo)-1], "image/jpeg", false, 400, "length-mismatch"},
		{"longer body", func(up attachment.Upload) string { return up.URL }, append(bytes.Clone(photo), 0), "image/jpeg", false, 400, "length-mismatch"},
		{"other content type", func(up attachment.Upload) string { return up.URL }, photo, "image/png", false, 400, "content-type-mismatch"},
		{"changed signed length", func(up attachment.Upload) string { return tamper(up.URL, "len", "40001") }, append(bytes.Clone(photo), 0), "image/jpeg", false, 403, "signature-invalid"},
		{"changed expiry", func(up attachment.Upload) string { return tamper(up.URL, "exp", "99999999999") }, photo, "image/jpeg", false, 403, "signature-invalid"},
		{"forged signature", func(up attachment.Upload) string { return tamper(up.URL, "sig", "AAAA") }, photo, "image/jpeg", false, 403, "signature-invalid"},
		{"no signature", func(up attachment.Upload) string { return strings.Split(up.URL, "?")[0] }, photo, "image/jpeg", true, 403, "signature-invalid"},
		{"other key", func(up attachment.Upload) string { return strings.Replace(up.URL, "%2Foriginal", "%2Fthumb", 1) }, photo, "image/jpeg", false, 403, "signature-invalid"},
		{"escaping key", func(up attachment.Upload) string {
			return "/blobs/..%2F..%2Fetc%2Fpasswd?" + strings.Split(up.URL, "?")[1]
		}, photo, "image/jpeg", false, 400, "invalid-key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key, up := presign(t, time.Minute)
			res := env.Do(t, apitest.Req{Method: "PUT", Path: tc.url(up), Body: tc.body, Headers: map[string]string{"Content-Type": tc.ct}, RawInvalid: tc.raw})
			wantProblem(t, res, tc.status, tc.code)
			notStored(t, key)
		})
	}

	t.Run("expired URLs", func(t *testing.T) {
		key, up := presign(t, time.Second)
		if err := l.Put(ctx, key+"-thumb", bytes.NewReader(photo[:10]), 10, "image/jpeg"); err != nil {
			t.Fatal(err)
		}
		get, _ := l.PresignGet(ctx, key+"-thumb", time.Second)
		time.Sleep(2100 * time.Millisecond)
		wantProblem(t, put(t, up, photo, "image/jpeg", false), 403, "url-expired")
		notStored(t, key)
		wantProblem(t, env.Do(t, apitest.Req{Method: "GET", Path: get}), 403, "url-expired")
	})

	t.Run("missing object", func(t *testing.T) {
		get, _ := l.PresignGet(ctx, "attachments/none/original", time.Minute)
		wantProblem(t, env.Do(t, apitest.Req{Method: "GET", Path: get}), 404, "not-found")
	})
}

// TestBlobRoutesBodyLimits shows, over a real connection, that uploads to the local
// store may be photo-sized while every other route keeps FIELDOPS_BODY_LIMIT.
func TestBlobRoutesBodyLimits(t *testing.T) {
	env := apitest.New(t, apitest.WithoutDemo(),
		apitest.WithEnv("FIELDOPS_BODY_LIMIT", "64KiB"), apitest.WithEnv("FIELDOPS_PHOTO_MAX_BYTES", "3MB"),
		// The push limit stays below the photo limit, which is then the server-wide one.
		apitest.WithEnv("FIELDOPS_SYNC_MAX_BYTES", "1MB"))
	l := localStore(t, env)
	base := env.Listen(t)
	ctx := context.Background()

	presign := func(t *testing.T, key string, photo []byte) attachment.Upload {
		t.Helper()
		sum := sha256.Sum256(photo)
		up, err := l.PresignPut(ctx, key, "image/jpeg", int64(len(photo)), sum[:], time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if up.Headers["Content-Length"] != strconv.Itoa(len(photo)) {
			t.Fatalf("headers %v", up.Headers)
		}
		return up
	}
	// upload PUTs over a real connection, as a phone would; status 0 is a connection
	// the server closed while the body was still being sent.
	upload := func(t *testing.T, up attachment.Upload, photo []byte) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(up.Method, blob.AbsoluteURL(base, up.URL), bytes.NewReader(photo))
		req.Header.Set("Content-Type", up.Headers["Content-Type"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}

	t.Run("a photo over the body limit goes through /blobs", func(t *testing.T) {
		photo := randomPhoto(t, 2_500_000)
		if status, body := upload(t, presign(t, "attachments/big/original", photo), photo); status != 200 {
			t.Fatalf("PUT %d %s", status, body)
		}
		get, _ := l.PresignGet(ctx, "attachments/big/original", time.Minute)
		res, err := http.Get(blob.AbsoluteURL(base, get)) //nolint:noctx // a test client
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 200 || !bytes.Equal(got, photo) {
			t.Fatalf("GET %d, %d bytes", res.StatusCode, len(got))
		}
	})
	t.Run("a photo over the photo limit is refused", func(t *testing.T) {
		photo := randomPhoto(t, 3_100_000)
		up := presign(t, "attachments/huge/original", photo)
		// The server answers 413 and closes as soon as it reads the Content-Length; a
		// client still sending the body may see the close rather than the answer.
		if status, body := upload(t, up, photo); status != 413 && status != 0 {
			t.Fatalf("PUT %d %s", status, body)
		}
		// Sending only the head shows the answer the server gives before any body.
		conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		_, _ = fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", up.URL, len(photo))
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if res.StatusCode != 413 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") || !strings.Contains(string(body), "/too-large") {
			t.Fatalf("PUT head only: %d %s", res.StatusCode, body)
		}
		if _, err := l.Stat(ctx, "attachments/huge/original"); !errors.Is(err, attachment.ErrBlobNotFound) {
			t.Fatalf("stored: %v", err)
		}
	})
	t.Run("other routes keep the body limit", func(t *testing.T) {
		big := `{"login":"x","password":"` + strings.Repeat("a", 70_000) + `","device_id":"d"}`
		// RawInvalid: the password is over the schema's maxLength as well.
		res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/auth/login", Body: big, RawInvalid: true})
		if res.Status != 413 || !strings.HasSuffix(res.Problem(t).Type, "/too-large") {
			t.Fatalf("login with a 70 kB body: %d %s", res.Status, res.Body)
		}
		// Chunked, without Content-Length, over a real connection.
		req, _ := http.NewRequest("POST", base+"/v1/auth/login", io.MultiReader(strings.NewReader(big)))
		req.Header.Set("Content-Type", "application/json")
		res2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res2.Body.Close()
		if res2.StatusCode != 413 {
			t.Fatalf("chunked login with a 70 kB body: %d", res2.StatusCode)
		}
	})
}

func TestBlobRoutesOnlyWithLocalStore(t *testing.T) {
	env := apitest.New(t, apitest.WithoutDemo(), apitest.WithMinIO(t))
	res := env.Do(t, apitest.Req{Method: "GET", Path: "/blobs/attachments%2Fx%2Foriginal?exp=1&sig=x"})
	if res.Status != 404 {
		t.Fatalf("GET /blobs with MinIO: %d %s", res.Status, res.Body)
	}
}
