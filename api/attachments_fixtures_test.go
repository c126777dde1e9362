package api_test

import (
	"encoding/json"
	"math"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../storage/imaging/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Real phone files: EXIF read as evidence, orientation applied to the derivatives,
// HEIC accepted, pixel bombs refused.
func TestPhotoFixtures(t *testing.T) {
	env := apitest.New(t, apitest.WithEnv("FIELDOPS_WORKERS", "true"))
	env.StartWorkers(t)
	ph := newPhone(t, env, "ambassador")
	unit := demoUnit(t, env)

	upload := func(t *testing.T, name, contentType string) (string, *apitest.Resp) {
		t.Helper()
		data := fixture(t, name)
		ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, data, contentType))
		if code := ph.put(t, ps, data, nil); code >= 400 {
			t.Fatalf("upload %s: %d", name, code)
		}
		return ps.Attachment.ID, ph.complete(t, ps.Attachment.ID)
	}
	waitDerivatives := func(t *testing.T, id string) attachmentView {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			v := ph.get(t, id)
			if v.DerivativesState == "ready" || v.DerivativesState == "failed" || time.Now().After(deadline) {
				return v
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	t.Run("jpeg with EXIF orientation, GPS and time", func(t *testing.T) {
		id, res := upload(t, "orient6.jpg", "image/jpeg")
		if res.Status != http.StatusOK {
			t.Fatalf("complete: %d %s", res.Status, res.Body)
		}
		var a struct {
			Width, Height, Orientation int
			Exif                       struct {
				TakenAt  time.Time `json:"taken_at"`
				Location struct{ Lat, Lng float64 }
				Make     string `json:"camera_make"`
				Model    string `json:"camera_model"`
			}
		}
		if err := json.Unmarshal(res.Body, &a); err != nil {
			t.Fatal(err)
		}
		if a.Width != 400 || a.Height != 300 || a.Orientation != 6 {
			t.Errorf("size/orientation: %+v", a)
		}
		if !a.Exif.TakenAt.Equal(time.Date(2024, 5, 17, 12, 23, 5, 0, time.UTC)) {
			t.Errorf("taken at %s", a.Exif.TakenAt)
		}
		if math.Abs(a.Exif.Location.Lat-52.520008) > 1e-4 || math.Abs(a.Exif.Location.Lng-13.404954) > 1e-4 || a.Exif.Make != "Google" || a.Exif.Model != "Pixel 8" {
			t.Errorf("exif: %+v", a.Exif)
		}
		v := waitDerivatives(t, id)
		if v.DerivativesState != "ready" || v.Thumbnail == nil || v.Thumbnail.Height <= v.Thumbnail.Width {
			t.Fatalf("the thumbnail is not turned upright: %+v", v)
		}
		if thumb := download(t, v.URLs.Thumbnail); strings.Contains(string(thumb), "Exif") || strings.Contains(string(thumb), "Pixel 8") {
			t.Error("the thumbnail keeps EXIF")
		}
	})

	t.Run("heic from an iPhone", func(t *testing.T) {
		id, res := upload(t, "irot270.heic", "image/heic")
		if res.Status != http.StatusOK {
			t.Fatalf("complete: %d %s", res.Status, res.Body)
		}
		v := waitDerivatives(t, id)
		if v.Format != "heic" || v.DerivativesState != "ready" || v.Thumbnail == nil || v.Thumbnail.Height <= v.Thumbnail.Width {
			t.Fatalf("heic: %+v", v)
		}
	})

	t.Run("png screenshot and webp", func(t *testing.T) {
		for _, f := range []struct{ name, ct string }{{"screenshot.png", "image/png"}, {"vp8.webp", "image/webp"}, {"vp8x_alpha.webp", "image/webp"}} {
			id, res := upload(t, f.name, f.ct)
			if res.Status != http.StatusOK {
				t.Fatalf("%s: %d %s", f.name, res.Status, res.Body)
			}
			if v := waitDerivatives(t, id); v.DerivativesState != "ready" {
				t.Fatalf("%s derivatives: %+v", f.name, v)
			}
		}
	})

	t.Run("large metadata before the frame header", func(t *testing.T) {
		// Three 60 KB APP2 segments push the frame header past the first read.
		plain := testJPEG(t, 640, 480)
		big := append([]byte{}, plain[:2]...)
		for i := 0; i < 3; i++ {
			seg := make([]byte, 60000)
			big = append(big, 0xFF, 0xE2, byte((len(seg)+2)>>8), byte((len(seg)+2)&0xff))
			big = append(big, seg...)
		}
		big = append(big, plain[2:]...)
		ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, big, "image/jpeg"))
		if code := ph.put(t, ps, big, nil); code >= 400 {
			t.Fatalf("upload: %d", code)
		}
		res := ph.complete(t, ps.Attachment.ID)
		var v attachmentView
		res.JSON(t, &v)
		if res.Status != http.StatusOK || v.Width != 640 || v.Height != 480 {
			t.Fatalf("complete: %d %s", res.Status, res.Body)
		}
	})

	t.Run("pixel bomb rejected", func(t *testing.T) {
		id, res := upload(t, "bomb.png", "image/png")
		if res.Status != http.StatusUnprocessableEntity {
			t.Fatalf("complete: %d %s", res.Status, res.Body)
		}
		p := res.Problem(t)
		if !strings.HasSuffix(p.Type, "/too-many-pixels") {
			t.Errorf("type %s", p.Type)
		}
		if v := ph.get(t, id); v.State != "rejected" {
			t.Errorf("state %s", v.State)
		}
	})

	t.Run("avif is not accepted", func(t *testing.T) {
		_, res := upload(t, "tiny.avif", "image/heic")
		if res.Status != http.StatusUnprocessableEntity || !strings.HasSuffix(res.Problem(t).Type, "/unsupported-image") {
			t.Fatalf("complete: %d %s", res.Status, res.Body)
		}
	})

	t.Run("truncated jpeg", func(t *testing.T) {
		id, res := upload(t, "truncated.jpg", "image/jpeg")
		// The header and EXIF are intact, so it counts as evidence; its pixels cannot be
		// decoded, so no derivatives are made and the reason is recorded.
		if res.Status != http.StatusOK {
			t.Fatalf("complete: %d %s", res.Status, res.Body)
		}
		v := waitDerivatives(t, id)
		if v.State != "available" || v.DerivativesState != "failed" {
			t.Fatalf("truncated: %+v", v)
		}
	})
}
