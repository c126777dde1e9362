package postgres_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/storage/postgres"
	"github.com/fieldops/fieldops/storage/postgres/pgtest"
)

// Every field of an attachment survives the hand-written statements: InsertNew,
// MarkChecked, Update and the read they are compared with (columns scanned by position,
// so a swapped pair of like-typed columns would show here).
func TestAttachmentStoreRoundTrip(t *testing.T) {
	db := pgtest.New(t)
	ctx := context.Background()
	demo, err := db.SeedDemo(ctx, "not-a-real-hash")
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.NewAttachmentStore(db)
	var unit, ambassador uuid.UUID
	g := db.Gorm(ctx)
	if err := g.Raw(`SELECT id FROM units ORDER BY number LIMIT 1`).Row().Scan(&unit); err != nil {
		t.Fatal(err)
	}
	if err := g.Raw(`SELECT id FROM users WHERE username = 'ambassador'`).Row().Scan(&ambassador); err != nil {
		t.Fatal(err)
	}

	project, private, err := store.Owner(ctx, "unit", unit, ambassador)
	if err != nil || project != demo.ProjectID || private {
		t.Fatalf("Owner(unit) = %s, %v, %v; want the demo project, not private", project, private, err)
	}
	if project, _, err := store.Owner(ctx, "project", demo.ProjectID, ambassador); err != nil || project != demo.ProjectID {
		t.Fatalf("Owner(project) = %s, %v", project, err)
	}
	for _, typ := range []string{"unit", "defect", "no-such-type"} {
		if _, _, err := store.Owner(ctx, typ, uuid.New(), ambassador); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("Owner(%s, unknown id) = %v, want not found", typ, err)
		}
	}

	at := func(s string) *time.Time {
		v, _ := time.Parse(time.RFC3339, s)
		return &v
	}
	acc := 7.5
	id := uuid.Must(uuid.NewV7())
	a := &attachment.Attachment{
		ID: id, ProjectID: demo.ProjectID, OwnerType: "unit", OwnerID: unit, Purpose: "defect_before",
		ContentType: "image/jpeg", Size: 123456, SHA256: []byte("0123456789abcdef0123456789abcdef"), State: attachment.StatePending,
		UploadedBy: ambassador, ObjectKey: attachment.ObjectKey(id), DeviceCapturedAt: at("2026-11-20T08:30:00Z"),
		DeviceLocation:   &attachment.Location{Lat: 30.25, Lng: 120.125, AccuracyM: &acc},
		DerivativesState: attachment.DerivativesNone, Version: 1,
	}
	same := func(step string, want *attachment.Attachment) {
		t.Helper()
		got, err := store.Get(ctx, id)
		if err != nil {
			t.Fatalf("%s: Get: %v", step, err)
		}
		if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
			t.Fatalf("%s: timestamps %v %v, want %v %v", step, got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
		}
		g, w := *got, *want
		g.CreatedAt, g.UpdatedAt, w.CreatedAt, w.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		for _, p := range []**time.Time{&g.DeviceCapturedAt, &g.ReceivedAt, &w.DeviceCapturedAt, &w.ReceivedAt} {
			if *p != nil {
				v := (*p).UTC()
				*p = &v
			}
		}
		if g.Exif != nil && g.Exif.TakenAt != nil {
			v := g.Exif.TakenAt.UTC()
			g.Exif.TakenAt = &v
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("%s:\n got %+v\nwant %+v", step, g, w)
		}
	}

	if ok, err := store.InsertNew(ctx, a); err != nil || !ok {
		t.Fatalf("InsertNew: %v, %v", ok, err)
	}
	same("inserted", a)
	again := *a
	again.Size = 1
	if ok, err := store.InsertNew(ctx, &again); err != nil || ok {
		t.Fatalf("InsertNew of a taken id: %v, %v; want false, nil", ok, err)
	}
	same("not replaced", a)

	received := time.Now().UTC().Truncate(time.Microsecond)
	a.State, a.ReceivedAt, a.DerivativesState = attachment.StateAvailable, &received, attachment.DerivativesPending
	a.Format, a.Width, a.Height, a.Orientation = "jpeg", 4032, 3024, 6
	a.Exif = &attachment.ExifFacts{TakenAt: at("2026-11-20T08:29:58Z"), Location: &attachment.Location{Lat: 30.5, Lng: 120.75}, CameraMake: "Apple", CameraModel: "iPhone 15"}
	if ok, err := store.MarkChecked(ctx, a); err != nil || !ok || a.Version != 2 {
		t.Fatalf("MarkChecked: %v, %v, version %d", ok, err, a.Version)
	}
	same("checked", a)
	if ok, err := store.MarkChecked(ctx, a); err != nil || ok {
		t.Fatalf("MarkChecked of a row no longer pending: %v, %v; want false, nil", ok, err)
	}

	a.DerivativesState = attachment.DerivativesReady
	a.Thumbnail = &attachment.Derivative{Key: attachment.DerivativeKey(id, "thumbnail"), Width: 320, Height: 240}
	a.Preview = &attachment.Derivative{Key: attachment.DerivativeKey(id, "preview"), Width: 1600, Height: 1200}
	if err := store.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	same("derivatives", a)
	if locked, err := store.GetForUpdate(ctx, id); err != nil || locked.Version != a.Version {
		t.Fatalf("GetForUpdate: %v, %v", locked, err)
	}

	if err := store.MarkPurged(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(ctx, id); !errors.Is(err, apperr.ErrNotFound) {
		t.Fatalf("Get of a purged row: %v, want not found", err)
	}
	if ok, err := store.InsertNew(ctx, &again); err != nil || ok {
		t.Fatalf("InsertNew of a purged id: %v, %v; want false, nil", ok, err)
	}
}
