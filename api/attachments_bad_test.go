package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/api/apitest"
)

// Each bad request gets its own problem and writes nothing it should not.
func TestPhotoBadInput(t *testing.T) {
	for _, store := range []string{"local", "minio"} {
		t.Run(store, func(t *testing.T) {
			opts := []apitest.Option{apitest.WithEnv("FIELDOPS_PHOTO_MAX_BYTES", "2MB")}
			if store == "minio" {
				opts = append(opts, apitest.WithMinIO(t))
			}
			env := apitest.New(t, opts...)
			ph := newPhone(t, env, "ambassador")
			unit := demoUnit(t, env)
			photo := testJPEG(t, 400, 300)

			problem := func(t *testing.T, res *apitest.Resp, status int, code string) {
				t.Helper()
				if res.Status != status {
					t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
				}
				if p := res.Problem(t); !strings.HasSuffix(p.Type, "/"+code) {
					t.Fatalf("type %s, want %s", p.Type, code)
				}
			}
			noNewRows := func(t *testing.T, before int64) {
				t.Helper()
				if n := env.Count(t, "attachments"); n != before {
					t.Fatalf("attachments %d, want %d", n, before)
				}
			}

			t.Run("refused at presign", func(t *testing.T) {
				cases := []struct {
					name   string
					change func(m map[string]any)
					status int
					code   string
				}{
					{"unknown owner", func(m map[string]any) { m["owner_id"] = uuid.NewString() }, 422, "owner-not-found"},
					{"unknown owner type", func(m map[string]any) { m["owner_type"] = "spaceship" }, 422, "validation"},
					{"oversize", func(m map[string]any) { m["size"] = 3_000_000 }, 422, "validation"},
					{"type not allowed", func(m map[string]any) { m["content_type"] = "image/gif" }, 422, "validation"},
					{"bad checksum", func(m map[string]any) { m["sha256"] = "abc" }, 422, "validation"},
					{"missing id", func(m map[string]any) { delete(m, "id") }, 422, "validation"},
				}
				for _, tc := range cases {
					t.Run(tc.name, func(t *testing.T) {
						before := env.Count(t, "attachments")
						body := photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg")
						tc.change(body)
						res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/attachments", Token: ph.token, Body: body, RawInvalid: true})
						problem(t, res, tc.status, tc.code)
						noNewRows(t, before)
					})
				}
			})

			t.Run("foreign owner looks unknown", func(t *testing.T) {
				before := env.Count(t, "attachments")
				// A project of the same organization the ambassador does not belong to.
				other := uuid.Must(uuid.NewV7()).String()
				env.DB.Gorm(t.Context()).Exec(`INSERT INTO projects (id, organization_id, code, name) VALUES (?, ?, 'OTHERP', 'Other')`, other, env.Demo.OrganizationID)
				res := ph.do(t, "POST", "/v1/attachments", map[string]any{
					"id": uuid.NewString(), "owner_type": "project", "owner_id": other, "purpose": "other",
					"content_type": "image/jpeg", "size": len(photo), "sha256": strings.Repeat("ab", 32),
				})
				problem(t, res, 422, "owner-not-found")
				noNewRows(t, before)
			})

			t.Run("complete before upload", func(t *testing.T) {
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
				problem(t, ph.complete(t, ps.Attachment.ID), 409, "upload-missing")
				if v := ph.get(t, ps.Attachment.ID); v.State != "pending" {
					t.Fatalf("state %s, want pending", v.State)
				}
			})

			t.Run("tampered body refused by the store", func(t *testing.T) {
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
				tampered := append([]byte(nil), photo...)
				tampered[len(tampered)/2] ^= 0xff
				if code := ph.put(t, ps, tampered, nil); code < 400 {
					t.Fatalf("tampered upload accepted: %d", code)
				}
				problem(t, ph.complete(t, ps.Attachment.ID), 409, "upload-missing")
			})

			t.Run("wrong length refused by the store", func(t *testing.T) {
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
				if code := ph.put(t, ps, photo[:len(photo)-10], nil); code < 400 {
					t.Fatalf("short upload accepted: %d", code)
				}
			})

			t.Run("other content type refused by the store", func(t *testing.T) {
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
				code := ph.put(t, ps, photo, func(r *http.Request) { r.Header.Set("Content-Type", "image/png") })
				if code < 400 {
					t.Fatalf("upload with another content type accepted: %d", code)
				}
			})

			t.Run("declared type differs from the file", func(t *testing.T) {
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/png"))
				if code := ph.put(t, ps, photo, nil); code >= 400 {
					t.Fatalf("upload: %d", code)
				}
				res := ph.complete(t, ps.Attachment.ID)
				problem(t, res, 422, "content-type-mismatch")
				if v := ph.get(t, ps.Attachment.ID); v.State != "rejected" || v.Reason == "" {
					t.Fatalf("after a rejected complete: %+v", v)
				}
			})

			t.Run("not an image", func(t *testing.T) {
				text := []byte(strings.Repeat("not a photo at all ", 50))
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, text, "image/jpeg"))
				if code := ph.put(t, ps, text, nil); code >= 400 {
					t.Fatalf("upload: %d", code)
				}
				problem(t, ph.complete(t, ps.Attachment.ID), 422, "unsupported-image")
				if v := ph.get(t, ps.Attachment.ID); v.State != "rejected" {
					t.Fatalf("state %s", v.State)
				}
			})

			t.Run("double complete", func(t *testing.T) {
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
				ph.put(t, ps, photo, nil)
				if res := ph.complete(t, ps.Attachment.ID); res.Status != 200 {
					t.Fatalf("first complete: %d %s", res.Status, res.Body)
				}
				problem(t, ph.complete(t, ps.Attachment.ID), 409, "already-completed")
			})

			t.Run("expired upload URL", func(t *testing.T) {
				env2 := apitest.New(t, append(opts, apitest.WithEnv("FIELDOPS_UPLOAD_URL_TTL", "1s"))...)
				ph2 := newPhone(t, env2, "ambassador")
				ps := ph2.presign(t, photoRequest(uuid.Must(uuid.NewV7()), demoUnit(t, env2), photo, "image/jpeg"))
				time.Sleep(2100 * time.Millisecond)
				if code := ph2.put(t, ps, photo, nil); code < 400 {
					t.Fatalf("upload after expiry accepted: %d", code)
				}
			})

			t.Run("others cannot see or complete", func(t *testing.T) {
				ps := ph.presign(t, photoRequest(uuid.Must(uuid.NewV7()), unit, photo, "image/jpeg"))
				guard := env.As(t, "guard")
				res := env.Do(t, apitest.Req{Method: "POST", Path: "/v1/attachments/" + ps.Attachment.ID + "/complete", Token: guard})
				problem(t, res, 403, "forbidden")
			})
		})
	}
}
