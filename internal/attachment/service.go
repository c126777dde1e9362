package attachment

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/jobs"
	"github.com/fieldops/fieldops/internal/page"
)

// Tx runs fn in one transaction.
type Tx interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Options are the limits and lifetimes of the photo flow.
type Options struct {
	MaxBytes    int64         // largest accepted photo
	UploadTTL   time.Duration // life of a presigned upload
	DownloadTTL time.Duration // life of a presigned download
	PendingTTL  time.Duration // an upload not completed by then is removed
	ThumbSide   int           // longest side of the thumbnail
	PreviewSide int           // longest side of the preview
	ProbeBytes  int64         // how much of the file Probe reads
	Now         func() time.Time
}

// Service is the photo flow.
type Service struct {
	store  Store
	tx     Tx
	blobs  BlobStore
	imager Imager
	jobs   jobs.Enqueuer
	opts   Options
}

// NewService fills unset options with defaults.
func NewService(store Store, tx Tx, blobs BlobStore, imager Imager, q jobs.Enqueuer, opts Options) *Service {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.UploadTTL, 15*time.Minute)
	def(&opts.DownloadTTL, 10*time.Minute)
	def(&opts.PendingTTL, 72*time.Hour)
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = 25_000_000
	}
	if opts.ThumbSide <= 0 {
		opts.ThumbSide = 320
	}
	if opts.PreviewSide <= 0 {
		opts.PreviewSide = 1600
	}
	if opts.ProbeBytes <= 0 {
		opts.ProbeBytes = 256 << 10
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{store: store, tx: tx, blobs: blobs, imager: imager, jobs: q, opts: opts}
}

func (s *Service) now() time.Time { return s.opts.Now().UTC() }

// validate checks a request to upload; it reports every bad field at once.
func (s *Service) validate(in NewAttachment) error {
	var fields []apperr.FieldError
	add := func(field, rule, msg string) {
		fields = append(fields, apperr.FieldError{Field: field, Rule: rule, Message: msg})
	}
	if in.ID == uuid.Nil {
		add("id", "required", "is required: the app chooses the attachment's UUID")
	}
	if !slices.Contains(OwnerTypes, in.OwnerType) {
		add("owner_type", "oneof", "must be one of: "+strings.Join(OwnerTypes, ", "))
	}
	if in.OwnerID == uuid.Nil {
		add("owner_id", "required", "is required")
	}
	if !slices.Contains(Purposes, in.Purpose) {
		add("purpose", "oneof", "must be one of: "+strings.Join(Purposes, ", "))
	}
	if _, ok := ContentTypes[in.ContentType]; !ok {
		add("content_type", "oneof", "must be one of: image/jpeg, image/png, image/webp, image/heic")
	}
	if in.Size <= 0 {
		add("size", "min", "must be at least 1 byte")
	} else if in.Size > s.opts.MaxBytes {
		add("size", "max", fmt.Sprintf("must be at most %d bytes", s.opts.MaxBytes))
	}
	if len(in.SHA256) != sha256.Size {
		add("sha256", "sha256", "must be the file's SHA-256 as 64 hexadecimal characters")
	}
	if in.Location != nil {
		if in.Location.Lat < -90 || in.Location.Lat > 90 || in.Location.Lng < -180 || in.Location.Lng > 180 {
			add("location", "range", "lat must be within ±90 and lng within ±180")
		}
		if in.Location.AccuracyM != nil && *in.Location.AccuracyM < 0 {
			add("location.accuracy_m", "min", "must not be negative")
		}
	}
	if in.CapturedAt != nil && in.CapturedAt.After(s.now().Add(24*time.Hour)) {
		add("captured_at", "past", "is more than a day in the future; check the device clock")
	}
	if len(fields) > 0 {
		return apperr.Invalid("the upload request is not valid", fields...)
	}
	return nil
}

// Create records a pending attachment and returns a presigned upload. Asking again
// for the same id while it is pending returns a fresh upload; once the photo is
// available no second upload is given.
func (s *Service) Create(ctx context.Context, in NewAttachment) (*Presigned, bool, error) {
	a, created, err := s.Name(ctx, in)
	if err != nil {
		return nil, false, err
	}
	// Presigning is computed locally, so it answers even when the store is down.
	up, err := s.blobs.PresignPut(ctx, a.ObjectKey, a.ContentType, a.Size, a.SHA256, s.opts.UploadTTL)
	if err != nil {
		return nil, false, err
	}
	return &Presigned{Attachment: *a, Upload: up}, created, nil
}

// Name records a pending attachment, as Create does, without an upload URL: offline
// sync names photos by id before they are uploaded, and the app asks Create for the
// URL when it uploads. created is false when the id was named before by the same
// request (same uploader, owner, purpose, type, size and checksum).
func (s *Service) Name(ctx context.Context, in NewAttachment) (*Attachment, bool, error) {
	if err := s.validate(in); err != nil {
		return nil, false, err
	}
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, false, err
	}
	// No transaction: the owner is read, then the row inserted unless the id exists, one
	// statement each. A transaction would not keep the owner from being deleted in
	// between either, and a concurrent request for the same id waits for the first
	// insert and then finds it.
	project, private, err := s.store.Owner(ctx, in.OwnerType, in.OwnerID, caller.UserID)
	if err != nil && !errors.Is(err, apperr.ErrNotFound) {
		return nil, false, err
	}
	if err != nil || private || !caller.Has(project) {
		// An unknown owner and another project's owner look the same.
		return nil, false, &apperr.Error{Kind: apperr.KindInvalid, Code: "owner-not-found", Detail: "the owner record does not exist or is not visible to you; sync it before its photos",
			Fields: []apperr.FieldError{{Field: "owner_id", Rule: "exists", Message: "no such " + in.OwnerType + " visible to you"}}}
	}
	a := &Attachment{
		ID: in.ID, ProjectID: project, OwnerType: in.OwnerType, OwnerID: in.OwnerID, Purpose: in.Purpose,
		ContentType: in.ContentType, Size: in.Size, SHA256: in.SHA256, State: StatePending,
		UploadedBy: caller.UserID, ObjectKey: ObjectKey(in.ID), DeviceCapturedAt: in.CapturedAt, DeviceLocation: in.Location,
		DerivativesState: DerivativesNone, Version: 1,
	}
	created, err := s.store.InsertNew(ctx, a)
	if err != nil {
		return nil, false, err
	}
	if !created {
		existing, err := s.store.Get(ctx, in.ID)
		if errors.Is(err, apperr.ErrNotFound) {
			// Purged: the id stays taken.
			return nil, false, IDTaken()
		}
		if err != nil {
			return nil, false, err
		}
		if err := s.sameRequest(caller, existing, in, &a); err != nil {
			return nil, false, err
		}
	}
	a.SHA256Hex = hex.EncodeToString(a.SHA256)
	return a, created, nil
}

// IDTaken is the answer to a new photo whose id another photo has (or had: a purged
// photo's id stays taken).
func IDTaken() error {
	return apperr.Conflict("id-exists", "this id is taken by another record; choose a new UUID", nil)
}

// sameRequest decides what a repeated request for an existing id gets.
func (s *Service) sameRequest(caller *authz.Principal, cur *Attachment, in NewAttachment, out **Attachment) error {
	cur.SHA256Hex = hex.EncodeToString(cur.SHA256)
	same := cur.UploadedBy == caller.UserID && cur.OwnerType == in.OwnerType && cur.OwnerID == in.OwnerID &&
		cur.Purpose == in.Purpose && cur.ContentType == in.ContentType && cur.Size == in.Size && bytes.Equal(cur.SHA256, in.SHA256)
	if !same {
		if !caller.Has(cur.ProjectID) {
			return IDTaken()
		}
		return apperr.Conflict("id-exists", "an attachment with this id was requested with other details", cur)
	}
	switch cur.State {
	case StateAvailable:
		return apperr.Conflict("already-uploaded", "this photo is already uploaded and checked; it cannot be replaced", cur)
	case StateRejected:
		return apperr.Conflict("attachment-rejected", "this upload was rejected ("+cur.Reason+"); take or pick the photo again under a new id", cur)
	}
	*out = cur
	return nil
}

// errNotPending: the row was completed or purged while this completion checked the file.
var errNotPending = errors.New("attachment no longer pending")

// rejection is an upload that failed a check: the attachment is marked rejected.
type rejection struct{ code, reason string }

// Complete checks the uploaded object and makes the photo count: size, checksum, real
// type from the first bytes, pixel count, EXIF. A failed check rejects the attachment
// and removes the object; a store that is down leaves it pending (503) to complete later.
func (s *Service) Complete(ctx context.Context, id uuid.UUID) (*Attachment, error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	caller, err := authz.Require(ctx, "attachment", a.ProjectID)
	if err != nil {
		return nil, err
	}
	if a.UploadedBy != caller.UserID && !caller.Has(a.ProjectID, authz.RoleAdmin, authz.RoleSupervisor) {
		return nil, apperr.Forbidden("only the uploader or a supervisor may complete this upload")
	}
	if err := stateAllowsComplete(a); err != nil {
		return nil, err
	}

	// The stat and the read of the file's first bytes go to the store at once: one round
	// trip instead of two on every completion.
	first := make(chan headRead, 1)
	go func() {
		head, err := s.blobs.ReadRange(ctx, a.ObjectKey, 0, s.firstRead(a))
		first <- headRead{head, err}
	}()
	info, err := s.blobs.Stat(ctx, a.ObjectKey)
	head := <-first
	if errors.Is(err, ErrBlobNotFound) {
		return nil, apperr.Conflict("upload-missing", "nothing has been uploaded for this attachment yet; PUT the file to the upload URL first", publicView(a))
	}
	if err != nil {
		return nil, err
	}
	rej, probe, err := s.check(ctx, a, info, head)
	if err != nil {
		return nil, err
	}

	// The row read above is still pending unless another completion or a purge came
	// first; MarkChecked writes only onto a pending row, so no lock is held meanwhile.
	out := publicView(a)
	if rej != nil {
		out.State, out.Reason = StateRejected, rej.reason
	} else {
		now := s.now()
		applyProbe(out, probe)
		out.State, out.ReceivedAt, out.DerivativesState = StateAvailable, &now, DerivativesPending
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		marked, err := s.store.MarkChecked(ctx, out)
		if err != nil {
			return err
		}
		if !marked {
			return errNotPending
		}
		if rej != nil {
			return nil
		}
		return s.jobs.Enqueue(ctx, jobs.MakeDerivatives{AttachmentID: out.ID.String()})
	})
	if errors.Is(err, errNotPending) {
		cur, gerr := s.store.Get(ctx, id)
		if gerr != nil {
			return nil, gerr
		}
		if serr := stateAllowsComplete(cur); serr != nil {
			return nil, serr
		}
		return nil, apperr.VersionConflict(publicView(cur))
	}
	if err != nil {
		return nil, err
	}
	if rej != nil {
		// The rejected bytes are not evidence. A failed delete leaves an orphan object under
		// the attachment's key, overwritten by nothing and found by listing the bucket.
		_ = s.blobs.Delete(context.WithoutCancel(ctx), a.ObjectKey)
		return nil, &apperr.Error{Kind: apperr.KindInvalid, Code: rej.code, Detail: "the upload was rejected: " + rej.reason, Current: publicView(out)}
	}
	return out, nil
}

func stateAllowsComplete(a *Attachment) error {
	switch a.State {
	case StateAvailable:
		return apperr.Conflict("already-completed", "this upload was completed before", publicView(a))
	case StateRejected:
		return apperr.Conflict("attachment-rejected", "this upload was rejected ("+a.Reason+")", publicView(a))
	}
	return nil
}

// check compares the stored object with what was declared and reads its header.
type headRead struct {
	data []byte
	err  error
}

// firstRead is how much of the file is read first. A JPEG's EXIF segment ends within
// 64 KiB of its start, and PNG and WebP headers are short, so 96 KiB is enough for almost
// every photo; a HEIC's EXIF item may sit further in, so it gets the whole probe size.
func (s *Service) firstRead(a *Attachment) int64 {
	if a.ContentType == "image/heic" {
		return s.opts.ProbeBytes
	}
	return min(96<<10, s.opts.ProbeBytes)
}

func (s *Service) check(ctx context.Context, a *Attachment, info ObjectInfo, first headRead) (*rejection, ImageInfo, error) {
	if info.Size != a.Size {
		return &rejection{"length-mismatch", fmt.Sprintf("the stored file has %d bytes, %d were declared", info.Size, a.Size)}, ImageInfo{}, nil
	}
	sum := info.SHA256
	if sum == nil {
		// The store could not vouch for the checksum: hash the object ourselves.
		var err error
		if sum, err = s.hashObject(ctx, a.ObjectKey); err != nil {
			return nil, ImageInfo{}, err
		}
	}
	if !bytes.Equal(sum, a.SHA256) {
		return &rejection{"checksum-mismatch", "the stored file's SHA-256 differs from the declared one"}, ImageInfo{}, nil
	}
	if first.err != nil {
		return nil, ImageInfo{}, first.err
	}
	head := first.data
	probe, err := s.imager.Probe(head)
	if int64(len(head)) < s.opts.ProbeBytes && int64(len(head)) < a.Size &&
		(probe.Format == "heic" || (err != nil && !errors.Is(err, ErrUnsupportedFormat))) {
		// The header goes on past the first read (large metadata before the frame
		// header, or a HEIC declared as something else): read the whole probe size.
		if head, err = s.blobs.ReadRange(ctx, a.ObjectKey, 0, s.opts.ProbeBytes); err != nil {
			return nil, ImageInfo{}, err
		}
		probe, err = s.imager.Probe(head)
	}
	switch {
	case errors.Is(err, ErrUnsupportedFormat):
		return &rejection{"unsupported-image", "the file is not a JPEG, PNG, WebP or HEIC image"}, probe, nil
	case errors.Is(err, ErrTooManyPixels):
		return &rejection{"too-many-pixels", err.Error()}, probe, nil
	case err != nil:
		return &rejection{"undecodable-image", err.Error()}, probe, nil
	}
	if probe.ContentType != a.ContentType {
		return &rejection{"content-type-mismatch", "the file is " + probe.ContentType + " but was declared " + a.ContentType}, probe, nil
	}
	return nil, probe, nil
}

func (s *Service) hashObject(ctx context.Context, key string) ([]byte, error) {
	r, err := s.blobs.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return nil, apperr.Unavailable("blob store", err)
	}
	return h.Sum(nil), nil
}

func applyProbe(a *Attachment, p ImageInfo) {
	a.Format, a.Width, a.Height, a.Orientation = p.Format, p.Width, p.Height, p.Orientation
	if p.TakenAt != nil || p.Location != nil || p.CameraMake != "" || p.CameraModel != "" {
		a.Exif = &ExifFacts{TakenAt: p.TakenAt, Location: p.Location, CameraMake: p.CameraMake, CameraModel: p.CameraModel}
	}
}

// publicView is a copy safe to put into a problem's current field.
func publicView(a *Attachment) *Attachment {
	c := *a
	c.SHA256Hex = hex.EncodeToString(a.SHA256)
	return &c
}

// Get returns the attachment with short-lived download links.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*WithURLs, error) {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	caller, err := authz.Require(ctx, "attachment", a.ProjectID)
	if err != nil {
		return nil, err
	}
	if err := s.visible(ctx, caller, a.OwnerType, a.OwnerID, "attachment"); err != nil {
		return nil, err
	}
	return s.withURLs(ctx, a)
}

// visible answers NotFound (as what) when the owner record is someone else's draft.
func (s *Service) visible(ctx context.Context, caller *authz.Principal, ownerType string, ownerID uuid.UUID, what string) error {
	private, err := s.store.OwnerPrivate(ctx, ownerType, ownerID, caller.UserID)
	if err != nil {
		return err
	}
	if private {
		return apperr.NotFound(what)
	}
	return nil
}

func (s *Service) withURLs(ctx context.Context, a *Attachment) (*WithURLs, error) {
	a.SHA256Hex = hex.EncodeToString(a.SHA256)
	out := &WithURLs{Attachment: *a, URLs: URLs{ExpiresAt: s.now().Add(s.opts.DownloadTTL)}}
	if a.State != StateAvailable {
		return out, nil
	}
	var err error
	if out.URLs.Original, err = s.blobs.PresignGet(ctx, a.ObjectKey, s.opts.DownloadTTL); err != nil {
		return nil, err
	}
	if a.Thumbnail != nil {
		if out.URLs.Thumbnail, err = s.blobs.PresignGet(ctx, a.Thumbnail.Key, s.opts.DownloadTTL); err != nil {
			return nil, err
		}
	}
	if a.Preview != nil {
		if out.URLs.Preview, err = s.blobs.PresignGet(ctx, a.Preview.Key, s.opts.DownloadTTL); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// List returns the photos of one record; whoever may see the record may see them.
func (s *Service) List(ctx context.Context, ownerType string, ownerID uuid.UUID, req page.Request) (page.Page[WithURLs], error) {
	if !slices.Contains(OwnerTypes, ownerType) {
		return page.Page[WithURLs]{}, apperr.Invalid("unknown owner type", apperr.FieldError{Field: "owner_type", Rule: "oneof", Message: "must be one of: " + strings.Join(OwnerTypes, ", ")})
	}
	caller, err := authz.Caller(ctx)
	if err != nil {
		return page.Page[WithURLs]{}, err
	}
	project, private, err := s.store.Owner(ctx, ownerType, ownerID, caller.UserID)
	if err != nil {
		return page.Page[WithURLs]{}, err
	}
	if _, err := authz.Require(ctx, ownerType, project); err != nil {
		return page.Page[WithURLs]{}, err
	}
	if private {
		return page.Page[WithURLs]{}, apperr.NotFound(ownerType)
	}
	rows, err := s.store.ListByOwner(ctx, ownerType, ownerID, page.Request{After: req.After, Limit: req.Limit + 1})
	if err != nil {
		return page.Page[WithURLs]{}, err
	}
	items := make([]WithURLs, 0, len(rows))
	for i := range rows {
		w, err := s.withURLs(ctx, &rows[i])
		if err != nil {
			return page.Page[WithURLs]{}, err
		}
		items = append(items, *w)
	}
	return page.Build(items, req.Limit, func(w WithURLs) uuid.UUID { return w.ID }), nil
}

// ErrPermanent marks a job failure that a retry cannot fix.
var ErrPermanent = errors.New("permanent failure")

// MakeDerivatives makes the thumbnail and the preview of an available attachment. It is
// safe to run twice: keys are fixed per attachment and the row is updated last.
func (s *Service) MakeDerivatives(ctx context.Context, id uuid.UUID) error {
	a, err := s.store.Get(ctx, id)
	if errors.Is(err, apperr.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if a.State != StateAvailable || a.DerivativesState == DerivativesReady {
		return nil
	}
	r, err := s.blobs.Get(ctx, a.ObjectKey)
	if err != nil {
		return err
	}
	src, err := io.ReadAll(io.LimitReader(r, s.opts.MaxBytes+1))
	_ = r.Close()
	if err != nil {
		return apperr.Unavailable("blob store", err)
	}
	// The original is decoded once, for the preview; the thumbnail is made from the
	// preview, which is already upright and small.
	preview, resizeErr := s.imager.Resize(src, s.opts.PreviewSide)
	if resizeErr == nil {
		var thumb Derived
		if thumb, resizeErr = s.imager.Resize(preview.Data, s.opts.ThumbSide); resizeErr == nil {
			return s.storeDerivatives(ctx, a, thumb, preview)
		}
	}
	// The original stays as evidence; only its derivatives are marked failed.
	if err := s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.GetForUpdate(ctx, id)
		if err != nil {
			return err
		}
		cur.DerivativesState, cur.DerivativesError = DerivativesFailed, resizeErr.Error()
		return s.store.Update(ctx, cur)
	}); err != nil {
		return err
	}
	return fmt.Errorf("%w: %w", ErrPermanent, resizeErr)
}

func (s *Service) storeDerivatives(ctx context.Context, a *Attachment, thumb, preview Derived) error {
	tk, pk := DerivativeKey(a.ID, "thumbnail"), DerivativeKey(a.ID, "preview")
	if err := s.blobs.Put(ctx, tk, bytes.NewReader(thumb.Data), int64(len(thumb.Data)), "image/jpeg"); err != nil {
		return err
	}
	if err := s.blobs.Put(ctx, pk, bytes.NewReader(preview.Data), int64(len(preview.Data)), "image/jpeg"); err != nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.GetForUpdate(ctx, a.ID)
		if err != nil {
			return err
		}
		cur.DerivativesState, cur.DerivativesError = DerivativesReady, ""
		cur.Thumbnail = &Derivative{Key: tk, Width: thumb.Width, Height: thumb.Height}
		cur.Preview = &Derivative{Key: pk, Width: preview.Width, Height: preview.Height}
		return s.store.Update(ctx, cur)
	})
}

// Purge removes a photo's files for good: evidence is kept even when its record is
// deleted, so only a project admin may do this. The row stays, marked deleted.
func (s *Service) Purge(ctx context.Context, id uuid.UUID) error {
	a, err := s.store.Get(ctx, id)
	if err != nil {
		return err
	}
	if _, err := authz.Require(ctx, "attachment", a.ProjectID, authz.RoleAdmin); err != nil {
		return err
	}
	keys := []string{a.ObjectKey}
	for _, d := range []*Derivative{a.Thumbnail, a.Preview} {
		if d != nil {
			keys = append(keys, d.Key)
		}
	}
	for _, k := range keys {
		if err := s.blobs.Delete(ctx, k); err != nil {
			return err
		}
	}
	return s.store.MarkPurged(ctx, id)
}

// ExpirePending removes attachments whose upload was never completed within the
// pending time, objects included, so the id can be asked for again.
func (s *Service) ExpirePending(ctx context.Context) (int, error) {
	cutoff := s.now().Add(-s.opts.PendingTTL)
	n := 0
	for {
		rows, err := s.store.PendingBefore(ctx, cutoff, 200)
		if err != nil {
			return n, err
		}
		if len(rows) == 0 {
			return n, nil
		}
		for _, a := range rows {
			if err := s.blobs.Delete(ctx, a.ObjectKey); err != nil {
				return n, err
			}
			if err := s.store.DeleteRow(ctx, a.ID); err != nil {
				return n, err
			}
			n++
		}
	}
}
