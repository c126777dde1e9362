package offline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/internal/batch"
	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/inspection"
	"github.com/fieldops/fieldops/internal/workorder"
)

// Writer is the write side of a record type: how a pushed change reaches the domain
// service that owns the record, so a push obeys the same permissions and rules as the
// API. Field names are the pull's (the registry's). A nil function is an operation
// phones may not push for the type.
type Writer struct {
	Type string
	// AuthorColumn names who created the record: a create of an existing id by its
	// author is an update.
	AuthorColumn string
	// Patchable are the fields an update may change.
	Patchable []string
	// Keyed are map fields whose keys merge one by one (inspection answers).
	Keyed []string
	// CommandColumns are what commands change: a command conflicts when the server
	// changed one of them after the change's base version.
	CommandColumns []string

	Get     func(ctx context.Context, id uuid.UUID) error
	Create  func(ctx context.Context, id uuid.UUID, f Fields, deviceTime *time.Time) error
	Update  func(ctx context.Context, id uuid.UUID, version int, f Fields) error
	Command func(ctx context.Context, id uuid.UUID, version int, cmd json.RawMessage) error
	Delete  func(ctx context.Context, id uuid.UUID, version int) error
}

// visible checks the caller may see the record (404 otherwise) before anything about
// it is told.
func (w *Writer) visible(ctx context.Context, id uuid.UUID) error {
	if w.Get == nil {
		return nil
	}
	return w.Get(ctx, id)
}

// Services are the domain services pushes write through.
type Services struct {
	Defects     *defect.Service
	Inspections *inspection.Service
	WorkOrders  *workorder.Service
	Photos      *attachment.Service
	// InspectionsBulk, DefectsBulk and PhotosBulk write the inspection, defect and
	// photo services' batches.
	InspectionsBulk inspection.BulkStore
	DefectsBulk     defect.BulkStore
	PhotosBulk      attachment.BulkStore
}

// Writers declares the write side of every record type phones may change offline.
func Writers(s Services) []*Writer {
	return []*Writer{inspectionWriter(s.Inspections), defectWriter(s.Defects), commentWriter(s.Defects),
		attachmentWriter(s.Photos), workOrderWriter(s.WorkOrders)}
}

// Batchers declares the record types whose runs of changes are applied in one unit of
// work: what an ambassador records offline, inspections and defects with their comments
// and photos.
func Batchers(s Services) []Batcher {
	if s.InspectionsBulk == nil || s.DefectsBulk == nil || s.PhotosBulk == nil {
		return nil
	}
	return []Batcher{handoverBatcher{s}}
}

type handoverBatcher struct{ s Services }

func (handoverBatcher) Types() []string {
	return []string{"inspection", "defect", "defect_comment", "attachment"}
}

// Takes all but an inspection's commands and deletes, which go alone: submitting or
// deleting a draft writes its draft defects at once, which a batch does not do.
func (handoverBatcher) Takes(c *Change) bool {
	return c.Type != "inspection" || c.Op == OpCreate || c.Op == OpUpdate
}

// Begin opens the inspection, defect and photo batches over one journal: a defect found
// in an inspection made in the same push, and a photo of either, find it in memory, and
// a fix finds the after-photo named before it.
func (h handoverBatcher) Begin(ref *batch.Cache) Batch {
	j := &batch.Journal{}
	inspections := h.s.Inspections.NewBatch(h.s.InspectionsBulk, j)
	defects := h.s.Defects.NewBatch(h.s.DefectsBulk, j)
	inspections.SetReference(ref)
	defects.SetReference(ref)
	photos := h.s.Photos.NewBatch(h.s.PhotosBulk, func(ownerType string, id uuid.UUID) (*attachment.Owner, bool) {
		switch ownerType {
		case "defect":
			d, known := defects.Known(id)
			if !known || d == nil {
				return nil, known
			}
			o := &attachment.Owner{ProjectID: d.ProjectID}
			if d.Draft {
				o.PrivateTo = &d.ReportedBy
			}
			return o, true
		case "inspection":
			i, known := inspections.Known(id)
			if !known || i == nil {
				return nil, known
			}
			o := &attachment.Owner{ProjectID: i.ProjectID}
			if i.State == inspection.StateDraft {
				o.PrivateTo = &i.InspectorID
			}
			return o, true
		}
		return nil, false
	}, j)
	defects.SetPhotos(namedPhotos{photos})
	defects.SetInspections(func(id uuid.UUID) (*defect.InspectionRef, bool) {
		i, known := inspections.Known(id)
		if !known || i == nil {
			return nil, known
		}
		return &defect.InspectionRef{ID: i.ID, ProjectID: i.ProjectID, UnitID: i.UnitID, ZoneID: i.ZoneID,
			State: string(i.State), InspectorID: i.InspectorID, TemplateID: i.TemplateID, TemplateRevision: i.TemplateRevision}, true
	})
	inspections.SetPhotos(namedPhotos{photos})
	isvc, dsvc, psvc := h.s.Inspections.InBatch(inspections), h.s.Defects.InBatch(defects), h.s.Photos.InBatch(photos)
	return &handoverBatch{journal: j, inspections: inspections, defects: defects, photos: photos, writers: map[string]*Writer{
		"inspection": inspectionWriter(isvc), "defect": defectWriter(dsvc), "defect_comment": commentWriter(dsvc),
		"attachment": attachmentWriter(psvc)}}
}

// namedPhotos shows the defect and inspection batches the photos named in the same unit.
type namedPhotos struct{ b *attachment.Batch }

func (n namedPhotos) Named(ownerType string, ownerID uuid.UUID, purpose string) []uuid.UUID {
	return n.b.Named(ownerType, ownerID, purpose)
}

func (n namedPhotos) Photo(id uuid.UUID) (uuid.UUID, bool) {
	a, known := n.b.Known(id)
	if !known {
		return uuid.Nil, false
	}
	return a.ProjectID, true
}

type handoverBatch struct {
	journal     *batch.Journal
	inspections *inspection.Batch
	defects     *defect.Batch
	photos      *attachment.Batch
	writers     map[string]*Writer
}

func (b *handoverBatch) Writer(typ string) (*Writer, bool) {
	w, ok := b.writers[typ]
	return w, ok
}

func (b *handoverBatch) Preload(ctx context.Context, typ string, present, absent []uuid.UUID) error {
	switch typ {
	case "inspection":
		return b.inspections.Preload(ctx, present, absent)
	case "defect":
		return b.defects.Preload(ctx, present, absent)
	case "defect_comment":
		b.defects.NoComments(absent)
	case "attachment":
		b.photos.Absent(absent)
	}
	return nil // existing comments and photos are read when a create asks whether its id is taken
}

func (b *handoverBatch) Mark() int             { return b.journal.Mark() }
func (b *handoverBatch) Rollback(mark int)     { b.journal.Rollback(mark) }
func (b *handoverBatch) Replay(err error) bool { return errors.Is(err, batch.ErrUnbatched) }

// FlushFor writes inspections alone for an inspection read again, and defects with them
// for a defect or a comment: photos (which depend on both) wait for the end of the run.
// It runs between changes, so no rollback reaches back past it: the journal is dropped.
func (b *handoverBatch) FlushFor(ctx context.Context, typ string) error {
	if typ != "inspection" && typ != "defect" && typ != "defect_comment" {
		return b.Flush(ctx)
	}
	if err := b.inspections.Flush(ctx); err != nil {
		return err
	}
	if typ != "inspection" {
		if err := b.defects.Flush(ctx); err != nil {
			return err
		}
	}
	b.journal.Forget()
	return nil
}

// Flush writes inspections before the defects found in them, and defects (with their
// history, comments and notifications) before the photos that may belong to them.
func (b *handoverBatch) Flush(ctx context.Context) error {
	if err := b.inspections.Flush(ctx); err != nil {
		return err
	}
	if err := b.defects.Flush(ctx); err != nil {
		return err
	}
	if err := b.photos.Flush(ctx); err != nil {
		return fmt.Errorf("insert attachments: %w", err)
	}
	b.journal.Forget()
	return nil
}

func defectWriter(svc *defect.Service) *Writer {
	return &Writer{
		Type: "defect", AuthorColumn: "reported_by",
		Patchable:      []string{"description", "room", "pin_x", "pin_y", "plan_attachment_id", "category", "severity"},
		CommandColumns: []string{"status", "owner_id"},
		Get: func(ctx context.Context, id uuid.UUID) error {
			_, err := svc.Get(ctx, id)
			return err
		},
		Create: func(ctx context.Context, id uuid.UUID, f Fields, deviceTime *time.Time) error {
			d := f.decoder()
			in := defect.NewDefect{
				ID: &id, UnitID: d.uuid("unit_id"), ZoneID: d.uuid("zone_id"), Room: d.str("room"),
				PlanAttachmentID: d.uuid("plan_attachment_id"), Pin: d.pin(),
				Category: d.text("category"), Severity: d.text("severity"), Description: d.text("description"),
				InspectionID: d.uuid("inspection_id"), ItemKey: d.str("item_key"), ReportedAt: d.time("device_reported_at"),
			}
			if in.ReportedAt == nil {
				in.ReportedAt = deviceTime
			}
			if err := d.err(); err != nil {
				return err
			}
			_, _, err := svc.Create(ctx, in)
			return err
		},
		Update: func(ctx context.Context, id uuid.UUID, version int, f Fields) error {
			d := f.decoder()
			in := defect.Patch{Version: version, Description: d.str("description"), Category: d.str("category"), Severity: d.str("severity")}
			in.Room.Set, in.Room.Value = d.optional("room"), d.str("room")
			if set := d.optional("plan_attachment_id"); set {
				in.PlanAttachmentID.Set, in.PlanAttachmentID.Value = true, d.uuid("plan_attachment_id")
			}
			if d.optional("pin_x") || d.optional("pin_y") {
				// The pin is one value in the domain; the half not sent is the server's.
				cur, err := svc.Get(ctx, id)
				if err != nil {
					return err
				}
				x, y := d.float("pin_x"), d.float("pin_y")
				if cur.Pin != nil {
					if !d.optional("pin_x") {
						x = &cur.Pin.X
					}
					if !d.optional("pin_y") {
						y = &cur.Pin.Y
					}
				}
				in.Pin.Set = true
				if x != nil && y != nil {
					in.Pin.Value = &defect.Pin{X: *x, Y: *y}
				}
			}
			if err := d.err(); err != nil {
				return err
			}
			_, err := svc.Update(ctx, id, in)
			return err
		},
		Command: func(ctx context.Context, id uuid.UUID, version int, raw json.RawMessage) error {
			var cmd commandFields
			if err := decodeCommand(raw, &cmd); err != nil {
				return err
			}
			_, err := svc.Transition(ctx, id, defect.Command{
				Version: version, Action: defect.Action(cmd.Action), OwnerID: cmd.OwnerID, DueAt: cmd.DueAt,
				Note: cmd.Note, Reason: cmd.Reason, AttachmentIDs: cmd.AttachmentIDs, DeviceAt: cmd.DeviceAt,
			})
			return err
		},
	}
}

func commentWriter(svc *defect.Service) *Writer {
	return &Writer{
		Type: "defect_comment", AuthorColumn: "author_id",
		Create: func(ctx context.Context, id uuid.UUID, f Fields, deviceTime *time.Time) error {
			d := f.decoder()
			defectID := d.uuid("defect_id")
			in := defect.NewComment{ID: &id, Body: d.text("body"), DeviceAt: d.time("device_at")}
			if in.DeviceAt == nil {
				in.DeviceAt = deviceTime
			}
			if defectID == nil && !d.bad("defect_id") {
				d.fail("defect_id", "required", "is required")
			}
			if err := d.err(); err != nil {
				return err
			}
			_, _, err := svc.AddComment(ctx, *defectID, in)
			return err
		},
	}
}

// attachmentWriter names a photo before it is uploaded: the record is pending until the
// app uploads it (POST /v1/attachments with the same id gives the upload URL) and
// completes it, as with the API.
func attachmentWriter(svc *attachment.Service) *Writer {
	return &Writer{
		Type: "attachment", AuthorColumn: "uploaded_by",
		Get: func(ctx context.Context, id uuid.UUID) error {
			_, err := svc.Get(ctx, id)
			return err
		},
		Create: func(ctx context.Context, id uuid.UUID, f Fields, _ *time.Time) error {
			d := f.decoder()
			in := attachment.NewAttachment{ID: id, OwnerType: d.text("owner_type"), Purpose: d.text("purpose"),
				ContentType: d.text("content_type"), CapturedAt: d.time("device_captured_at")}
			if o := d.uuid("owner_id"); o != nil {
				in.OwnerID = *o
			}
			if n := decodeAs[int64](d, "size", "integer", "must be a whole number of bytes"); n != nil {
				in.Size = *n
			}
			if sum := d.text("sha256"); sum != "" {
				b, err := hex.DecodeString(strings.ToLower(sum))
				if err != nil || len(b) != sha256.Size {
					d.fail("sha256", "sha256", "must be 64 hexadecimal digits")
				}
				in.SHA256 = b
			}
			if lat, lng := d.float("device_lat"), d.float("device_lng"); lat != nil && lng != nil {
				in.Location = &attachment.Location{Lat: *lat, Lng: *lng, AccuracyM: d.float("device_accuracy_m")}
			}
			if err := d.err(); err != nil {
				return err
			}
			// Named only: the app asks POST /v1/attachments for the upload URL when it
			// uploads, so no URL is signed here.
			_, _, err := svc.Name(ctx, in)
			return err
		},
	}
}

func inspectionWriter(svc *inspection.Service) *Writer {
	return &Writer{
		Type: "inspection", AuthorColumn: "inspector_id",
		Patchable:      []string{"notes", "buyer_present", "buyer_name", "finished_at"},
		Keyed:          []string{"answers"},
		CommandColumns: []string{"state"},
		Get: func(ctx context.Context, id uuid.UUID) error {
			_, err := svc.GetInspection(ctx, id)
			return err
		},
		Create: func(ctx context.Context, id uuid.UUID, f Fields, deviceTime *time.Time) error {
			d := f.decoder()
			in := inspection.NewInspection{
				ID: &id, UnitID: d.uuid("unit_id"), ZoneID: d.uuid("zone_id"), Kind: inspection.Kind(d.text("kind")),
				TemplateID: d.uuid("template_id"), BuyerName: d.str("buyer_name"), StartedAt: d.time("started_at"),
				Notes: d.text("notes"),
			}
			if b := d.boolean("buyer_present"); b != nil {
				in.BuyerPresent = *b
			}
			if in.StartedAt == nil {
				in.StartedAt = deviceTime
			}
			if err := d.err(); err != nil {
				return err
			}
			if _, _, err := svc.CreateInspection(ctx, in); err != nil {
				return err
			}
			// Answers given offline before the first push come with the create.
			if raw, ok := f["answers"]; ok && !isNull(raw) {
				cur, err := svc.GetInspection(ctx, id)
				if err != nil {
					return err
				}
				return updateInspection(ctx, svc, id, cur.Version, Fields{"answers": raw})
			}
			return nil
		},
		Update: func(ctx context.Context, id uuid.UUID, version int, f Fields) error {
			return updateInspection(ctx, svc, id, version, f)
		},
		Command: func(ctx context.Context, id uuid.UUID, version int, raw json.RawMessage) error {
			var cmd commandFields
			if err := decodeCommand(raw, &cmd); err != nil {
				return err
			}
			var err error
			switch cmd.Action {
			case "submit":
				_, err = svc.SubmitInspection(ctx, id, inspection.Submit{Version: version, FinishedAt: cmd.FinishedAt})
			case "close":
				_, err = svc.CloseInspection(ctx, id, version)
			default:
				err = apperr.Invalid("unknown command", apperr.FieldError{Field: "command.action", Rule: "oneof", Message: "must be submit or close"})
			}
			return err
		},
		Delete: func(ctx context.Context, id uuid.UUID, version int) error {
			return svc.DeleteInspection(ctx, id, version)
		},
	}
}

func updateInspection(ctx context.Context, svc *inspection.Service, id uuid.UUID, version int, f Fields) error {
	d := f.decoder()
	in := inspection.Patch{Version: version, Notes: d.str("notes"), BuyerPresent: d.boolean("buyer_present"), FinishedAt: d.time("finished_at")}
	if d.optional("buyer_name") {
		empty := ""
		in.BuyerName = d.str("buyer_name")
		if in.BuyerName == nil {
			in.BuyerName = &empty // null removes the name, as "" does in the API
		}
	}
	if raw, ok := f["answers"]; ok {
		if err := json.Unmarshal(raw, &in.Answers); err != nil {
			d.fail("answers", "object", "must map item keys onto answers")
		}
	}
	if err := d.err(); err != nil {
		return err
	}
	_, err := svc.UpdateInspection(ctx, id, in)
	return err
}

func workOrderWriter(svc *workorder.Service) *Writer {
	return &Writer{
		Type: "work_order", AuthorColumn: "created_by",
		Patchable:      []string{"title", "description", "location_detail", "priority", "reporter_name", "reporter_phone"},
		CommandColumns: []string{"status", "owner_id", "waiting_customer"},
		Get: func(ctx context.Context, id uuid.UUID) error {
			_, err := svc.Get(ctx, id)
			return err
		},
		Create: func(ctx context.Context, id uuid.UUID, f Fields, _ *time.Time) error {
			d := f.decoder()
			in := workorder.NewWorkOrder{
				ID: &id, BuildingID: d.uuid("building_id"), UnitID: d.uuid("unit_id"), ZoneID: d.uuid("zone_id"),
				LocationDetail: d.text("location_detail"), WorkType: d.text("work_type"), Source: d.text("source"),
				Priority: d.text("priority"), Title: d.text("title"), Description: d.text("description"),
				ReporterName: d.str("reporter_name"), ReporterPhone: d.str("reporter_phone"),
				ReportedAt: d.time("reported_at"), DefectID: d.uuid("defect_id"),
			}
			if p := d.uuid("project_id"); p != nil {
				in.ProjectID = *p
			} else if !d.bad("project_id") {
				d.fail("project_id", "required", "is required")
			}
			if err := d.err(); err != nil {
				return err
			}
			_, _, err := svc.Create(ctx, in)
			return err
		},
		Update: func(ctx context.Context, id uuid.UUID, version int, f Fields) error {
			d := f.decoder()
			in := workorder.Patch{Version: version, Title: d.str("title"), Description: d.str("description"),
				LocationDetail: d.str("location_detail"), Priority: d.str("priority")}
			in.ReporterName.Set, in.ReporterName.Value = d.optional("reporter_name"), d.str("reporter_name")
			in.ReporterPhone.Set, in.ReporterPhone.Value = d.optional("reporter_phone"), d.str("reporter_phone")
			if err := d.err(); err != nil {
				return err
			}
			_, err := svc.Update(ctx, id, in)
			return err
		},
		Command: func(ctx context.Context, id uuid.UUID, version int, raw json.RawMessage) error {
			var cmd commandFields
			if err := decodeCommand(raw, &cmd); err != nil {
				return err
			}
			_, err := svc.Transition(ctx, id, workorder.Command{
				Version: version, Action: workorder.Action(cmd.Action), OwnerID: cmd.OwnerID, Note: cmd.Note,
				Reason: cmd.Reason, AttachmentIDs: cmd.AttachmentIDs, DeviceAt: cmd.DeviceAt,
			})
			return err
		},
	}
}

// commandFields is every command's body; each record type reads what its commands take.
type commandFields struct {
	Action        string      `json:"action"`
	OwnerID       *uuid.UUID  `json:"owner_id"`
	DueAt         *time.Time  `json:"due_at"`
	Note          *string     `json:"note"`
	Reason        *string     `json:"reason"`
	AttachmentIDs []uuid.UUID `json:"attachment_ids"`
	DeviceAt      *time.Time  `json:"device_at"`
	FinishedAt    *time.Time  `json:"finished_at"`
}

func decodeCommand(raw json.RawMessage, cmd *commandFields) error {
	if isNull(raw) {
		return apperr.Invalid("a command change needs its command", apperr.FieldError{Field: "command", Rule: "required", Message: "is required"})
	}
	if err := json.Unmarshal(raw, cmd); err != nil {
		return apperr.Invalid("the command is not valid", apperr.FieldError{Field: "command", Rule: "type", Message: "has a field of the wrong type: " + err.Error()})
	}
	if cmd.Action == "" {
		return apperr.Invalid("the command names no action", apperr.FieldError{Field: "command.action", Rule: "required", Message: "is required"})
	}
	return nil
}

// Fields are a change's fields by name, as the pull names them.
type Fields map[string]json.RawMessage

func (f Fields) decoder() *fieldDecoder { return &fieldDecoder{f: f} }

// fieldDecoder reads typed values out of Fields and collects what is wrong.
type fieldDecoder struct {
	f    Fields
	errs []apperr.FieldError
}

func (d *fieldDecoder) fail(name, rule, msg string) {
	d.errs = append(d.errs, apperr.FieldError{Field: "fields." + name, Rule: rule, Message: msg})
}

func (d *fieldDecoder) bad(name string) bool {
	for _, e := range d.errs {
		if e.Field == "fields."+name {
			return true
		}
	}
	return false
}

func (d *fieldDecoder) err() error {
	if len(d.errs) == 0 {
		return nil
	}
	return apperr.Invalid("the change has fields of the wrong type", d.errs...)
}

// optional reports whether the change names the field (null included).
func (d *fieldDecoder) optional(name string) bool {
	_, ok := d.f[name]
	return ok
}

func decodeAs[T any](d *fieldDecoder, name, rule, msg string) *T {
	raw, ok := d.f[name]
	if !ok || isNull(raw) {
		return nil
	}
	var v T
	if err := json.Unmarshal(raw, &v); err != nil {
		d.fail(name, rule, msg)
		return nil
	}
	return &v
}

func (d *fieldDecoder) str(name string) *string {
	return decodeAs[string](d, name, "string", "must be a string")
}

func (d *fieldDecoder) text(name string) string {
	if s := d.str(name); s != nil {
		return *s
	}
	return ""
}

func (d *fieldDecoder) uuid(name string) *uuid.UUID {
	return decodeAs[uuid.UUID](d, name, "uuid", "must be a UUID")
}

func (d *fieldDecoder) time(name string) *time.Time {
	return decodeAs[time.Time](d, name, "datetime", "must be an RFC 3339 time")
}

func (d *fieldDecoder) float(name string) *float64 {
	return decodeAs[float64](d, name, "number", "must be a number")
}

func (d *fieldDecoder) boolean(name string) *bool {
	return decodeAs[bool](d, name, "boolean", "must be true or false")
}

func (d *fieldDecoder) pin() *defect.Pin {
	x, y := d.float("pin_x"), d.float("pin_y")
	if (x == nil) != (y == nil) {
		d.fail("pin_y", "pin", "pin_x and pin_y come together")
		return nil
	}
	if x == nil {
		return nil
	}
	return &defect.Pin{X: *x, Y: *y}
}
