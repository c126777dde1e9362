package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
	"github.com/fieldops/fieldops/internal/attachment"
)

// phone drives the photo flow as the app does: the API through the harness (checked
// against openapi.yaml), the store with a plain HTTP client.
type phone struct {
	env   *apitest.Env
	token string
	base  string // the API's address as the phone sees it
}

type presigned struct {
	Attachment struct {
		ID    string `json:"id"`
		State string `json:"state"`
	} `json:"attachment"`
	Upload struct {
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
	} `json:"upload"`
}

type attachmentView struct {
	ID               string `json:"id"`
	State            string `json:"state"`
	Reason           string `json:"reject_reason"`
	Width            int    `json:"width"`
	Height           int    `json:"height"`
	Format           string `json:"format"`
	DerivativesState string `json:"derivatives_state"`
	Thumbnail        *struct{ Width, Height int }
	URLs             struct {
		Original, Thumbnail, Preview string
	} `json:"urls"`
}

func newPhone(t *testing.T, env *apitest.Env, login string) *phone {
	return &phone{env: env, token: env.As(t, login), base: env.Listen(t)}
}

func (p *phone) do(t *testing.T, method, path string, body any) *apitest.Resp {
	t.Helper()
	return p.env.Do(t, apitest.Req{Method: method, Path: p.base + path, Token: p.token, Body: body})
}

func photoRequest(id uuid.UUID, owner string, data []byte, contentType string) map[string]any {
	sum := sha256.Sum256(data)
	return map[string]any{
		"id": id.String(), "owner_type": "unit", "owner_id": owner, "purpose": "defect_before",
		"content_type": contentType, "size": len(data), "sha256": hex.EncodeToString(sum[:]),
		"captured_at": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "location": map[string]any{"lat": 30.27, "lng": 120.15, "accuracy_m": 8},
	}
}

func (p *phone) presign(t *testing.T, body map[string]any) presigned {
	t.Helper()
	res := p.do(t, "POST", "/v1/attachments", body)
	if res.Status != http.StatusCreated && res.Status != http.StatusOK {
		t.Fatalf("presign: %d %s", res.Status, res.Body)
	}
	var ps presigned
	res.JSON(t, &ps)
	return ps
}

// put sends data with the signed headers; tweak may change the request (tampering).
func (p *phone) put(t *testing.T, ps presigned, data []byte, tweak func(*http.Request)) int {
	t.Helper()
	req, err := http.NewRequest(ps.Upload.Method, ps.Upload.URL, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range ps.Upload.Headers {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(data))
	if tweak != nil {
		tweak(req)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func (p *phone) complete(t *testing.T, id string) *apitest.Resp {
	t.Helper()
	return p.do(t, "POST", "/v1/attachments/"+id+"/complete", nil)
}

func (p *phone) get(t *testing.T, id string) attachmentView {
	t.Helper()
	res := p.do(t, "GET", "/v1/attachments/"+id, nil)
	if res.Status != http.StatusOK {
		t.Fatalf("get: %d %s", res.Status, res.Body)
	}
	var v attachmentView
	res.JSON(t, &v)
	return v
}

func download(t *testing.T, url string) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("download %s: %d %s", url, res.StatusCode, b)
	}
	return b
}

// testJPEG is a real photo-like JPEG of w×h pixels.
func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x ^ y) & 0xff), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func demoUnit(t *testing.T, env *apitest.Env) string {
	t.Helper()
	var id string
	if err := env.DB.Gorm(context.Background()).Raw(`SELECT id::text FROM units WHERE project_id = ? ORDER BY number LIMIT 1`, env.Demo.ProjectID).Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}

// The whole flow on both stores: presign → PUT → complete → derivatives → downloads.
func TestPhotoFlow(t *testing.T) {
	for _, store := range []string{"local", "minio"} {
		t.Run(store, func(t *testing.T) {
			opts := []apitest.Option{apitest.WithEnv("FIELDOPS_WORKERS", "true")}
			if store == "minio" {
				opts = append(opts, apitest.WithMinIO(t))
			}
			env := apitest.New(t, opts...)
			env.StartWorkers(t)
			ph := newPhone(t, env, "ambassador")
			unit := demoUnit(t, env)
			photo := testJPEG(t, 2000, 1500)
			id := uuid.Must(uuid.NewV7())

			ps := ph.presign(t, photoRequest(id, unit, photo, "image/jpeg"))
			if ps.Attachment.State != "pending" || ps.Upload.Method != "PUT" {
				t.Fatalf("presign: %+v", ps)
			}
			// Asking again while pending gives a fresh upload, not a second record.
			again := ph.presign(t, photoRequest(id, unit, photo, "image/jpeg"))
			if again.Attachment.ID != ps.Attachment.ID || env.Count(t, "attachments") != 1 {
				t.Fatal("a repeated presign made another attachment")
			}
			if code := ph.put(t, ps, photo, nil); code != http.StatusOK && code != http.StatusNoContent && code != http.StatusCreated {
				t.Fatalf("upload: %d", code)
			}
			res := ph.complete(t, ps.Attachment.ID)
			if res.Status != http.StatusOK {
				t.Fatalf("complete: %d %s", res.Status, res.Body)
			}
			var done attachmentView
			res.JSON(t, &done)
			if done.State != "available" || done.Width != 2000 || done.Height != 1500 || done.Format != "jpeg" {
				t.Fatalf("completed: %+v", done)
			}

			// Derivatives come from the job queue.
			var v attachmentView
			deadline := time.Now().Add(60 * time.Second)
			for {
				v = ph.get(t, ps.Attachment.ID)
				if v.DerivativesState == "ready" || v.DerivativesState == "failed" || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if v.DerivativesState != "ready" || v.Thumbnail == nil || max(v.Thumbnail.Width, v.Thumbnail.Height) > 320 {
				t.Fatalf("derivatives: %+v", v)
			}
			if got := download(t, v.URLs.Original); !bytes.Equal(got, photo) {
				t.Fatal("the original downloaded differs from the upload")
			}
			for _, u := range []string{v.URLs.Thumbnail, v.URLs.Preview} {
				img, format, err := image.Decode(bytes.NewReader(download(t, u)))
				if err != nil || format != "jpeg" || max(img.Bounds().Dx(), img.Bounds().Dy()) > 1600 {
					t.Fatalf("derivative %s: %v %s", u, err, format)
				}
			}
			// Once available, no second upload is handed out.
			res = ph.do(t, "POST", "/v1/attachments", photoRequest(id, unit, photo, "image/jpeg"))
			if res.Status != http.StatusConflict || !strings.HasSuffix(res.Problem(t).Type, "/already-uploaded") {
				t.Fatalf("presign of an available photo: %d %s", res.Status, res.Body)
			}
			// The owner's list shows it; another project's supervisor sees nothing.
			list := ph.do(t, "GET", "/v1/attachments?owner_type=unit&owner_id="+unit, nil)
			if list.Status != 200 || !strings.Contains(string(list.Body), ps.Attachment.ID) {
				t.Fatalf("list: %d %s", list.Status, list.Body)
			}
		})
	}
}

// Uploads never completed are removed after the pending time, object and row, so the id
// can be asked for again; completed photos are untouched. A purge removes the files.
func TestPendingCleanupAndPurge(t *testing.T) {
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_PENDING_UPLOAD_TTL", "2h"))
	ph := newPhone(t, env, "ambassador")
	unit := demoUnit(t, env)
	photo := testJPEG(t, 300, 200)

	stale := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
	ph.put(t, stale, photo, nil)
	fresh := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
	done := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
	ph.put(t, done, photo, nil)
	if res := ph.complete(t, done.Attachment.ID); res.Status != 200 {
		t.Fatalf("complete: %d %s", res.Status, res.Body)
	}
	ctx := context.Background()
	if err := env.DB.Gorm(ctx).Exec(`UPDATE attachments SET created_at = now() - interval '3 hours' WHERE id IN (?, ?)`, stale.Attachment.ID, done.Attachment.ID).Error; err != nil {
		t.Fatal(err)
	}
	n, err := env.Server.Photos.ExpirePending(ctx)
	if err != nil || n != 1 {
		t.Fatalf("expired %d, %v; want 1", n, err)
	}
	for id, want := range map[string]int{stale.Attachment.ID: 404, fresh.Attachment.ID: 200, done.Attachment.ID: 200} {
		if res := ph.do(t, "GET", "/v1/attachments/"+id, nil); res.Status != want {
			t.Errorf("%s: %d, want %d", id, res.Status, want)
		}
	}
	gone := func(id string) bool {
		_, err := env.Server.Blob.Stat(ctx, "attachments/"+id+"/original")
		return errors.Is(err, attachment.ErrBlobNotFound)
	}
	if !gone(stale.Attachment.ID) || gone(done.Attachment.ID) {
		t.Error("the expired upload's object is still there, or the completed one is gone")
	}

	v := ph.get(t, done.Attachment.ID)
	admin := env.As(t, "admin")
	if res := env.Do(t, apitest.Req{Method: "DELETE", Path: "/v1/attachments/" + done.Attachment.ID, Token: ph.token}); res.Status != 403 {
		t.Fatalf("purge by the ambassador: %d", res.Status)
	}
	if res := env.Do(t, apitest.Req{Method: "DELETE", Path: "/v1/attachments/" + done.Attachment.ID, Token: admin}); res.Status != 204 {
		t.Fatalf("purge: %d %s", res.Status, res.Body)
	}
	if res := ph.do(t, "GET", "/v1/attachments/"+done.Attachment.ID, nil); res.Status != 404 {
		t.Fatalf("purged photo still shows: %d", res.Status)
	}
	if !gone(done.Attachment.ID) {
		t.Error("the purged original is still stored")
	}
	if res, err := http.Get(v.URLs.Original); err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Error("the purged original can still be downloaded")
		}
	}
}
