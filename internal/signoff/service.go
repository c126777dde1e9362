package signoff

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

// Who may do what. Guards see nothing of handover work.
var (
	recorders = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador}
	readers   = []authz.Role{authz.RoleAdmin, authz.RoleSupervisor, authz.RoleAmbassador, authz.RoleEngineer}
)

// Service records and shows buyers' sign-offs.
type Service struct {
	store Store
	tx    Tx
}

// NewService returns the service over store; tx opens its transactions.
func NewService(store Store, tx Tx) *Service {
	return &Service{store: store, tx: tx}
}

// Create records a sign-off for an ambassador, supervisor or admin of the unit's
// project, freezing the unit's open defects in the same transaction. A retry with the
// same client id and the same content returns the first record (created false).
func (s *Service) Create(ctx context.Context, in New) (_ *Signoff, created bool, _ error) {
	caller, err := authz.Caller(ctx)
	if err != nil {
		return nil, false, err
	}
	want, fields := normalize(in)
	if in.UnitID == uuid.Nil {
		return nil, false, apperr.Invalid("the request has invalid fields", fields...)
	}
	var out *Signoff
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if in.ID != nil && *in.ID != uuid.Nil {
			cur, err := s.store.Get(ctx, *in.ID)
			switch {
			case err == nil:
				return s.retried(ctx, caller, cur, &want, &out)
			case !errors.Is(err, apperr.ErrNotFound):
				return err
			}
		}
		unit, err := s.store.Unit(ctx, want.UnitID)
		if err != nil {
			return err
		}
		if _, err := authz.Require(ctx, "unit", unit.ProjectID, recorders...); err != nil {
			return err
		}
		c := checker{apperr.Fields{List: fields}}
		if err := s.checkInspection(ctx, &want, unit, caller, &c); err != nil {
			return err
		}
		if err := s.checkSignature(ctx, &want, unit, &c); err != nil {
			return err
		}
		open, err := s.store.OpenDefects(ctx, unit.ID)
		if err != nil {
			return err
		}
		if want.Outcome == OutcomeAccepted && len(open) > 0 {
			c.Add("outcome", "open_defects", fmt.Sprintf("the unit has %d open defects: record accepted_with_defects, or refused", len(open)))
		}
		if err := c.Err(); err != nil {
			return err
		}
		id, err := ids.New(in.ID)
		if err != nil {
			return err
		}
		rec := &Signoff{
			ID: id, ProjectID: unit.ProjectID, UnitID: unit.ID, InspectionID: want.InspectionID,
			Outcome: want.Outcome, RefusalReason: want.RefusalReason, BuyerName: want.BuyerName,
			SignatureAttachmentID: want.SignatureAttachmentID, RecordedBy: caller.UserID, SignedAt: want.SignedAt,
			Snapshot: open,
		}
		sum := Hash(open)
		if out, err = s.store.Insert(ctx, rec, Canonical(open), sum); err != nil {
			return err
		}
		out.Current = Compare(out.Snapshot, out.SnapshotSHA256, open)
		created = true
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return out, created, nil
}

// retried answers a create whose client id is taken: the same sign-off by the same
// caller is returned as it is; anything else is a conflict, showing the record only
// to members of its project.
func (s *Service) retried(ctx context.Context, caller *authz.Principal, cur *Signoff, want *New, out **Signoff) error {
	same := cur.RecordedBy == caller.UserID && cur.UnitID == want.UnitID && equalPtr(cur.InspectionID, want.InspectionID) &&
		cur.Outcome == want.Outcome && equalPtr(cur.RefusalReason, want.RefusalReason) && cur.BuyerName == want.BuyerName &&
		cur.SignatureAttachmentID == want.SignatureAttachmentID && ids.Same(cur.SignedAt, want.SignedAt)
	if !same {
		if !caller.Has(cur.ProjectID, readers...) {
			return apperr.Conflict("id-exists", "a record with this id already exists with other fields", nil)
		}
		return apperr.Conflict("id-exists", "a sign-off with this id already exists with other fields", cur)
	}
	if err := s.withCurrent(ctx, cur); err != nil {
		return err
	}
	*out = cur
	return nil
}

// normalize trims the input and checks what needs no database.
func normalize(in New) (New, []apperr.FieldError) {
	var c checker
	want := in
	if in.ID != nil && *in.ID == uuid.Nil {
		c.Add("id", "uuid", "must not be the nil UUID")
	}
	if in.UnitID == uuid.Nil {
		c.Add("unit_id", "required", "is required")
	}
	if in.SignatureAttachmentID == uuid.Nil {
		c.Add("signature_attachment_id", "required", "is required: the attachment (owner the unit, purpose signature) holding the buyer's signature")
	}
	if !slices.Contains(Outcomes, in.Outcome) {
		c.Add("outcome", "oneof", "must be one of: accepted, accepted_with_defects, refused")
	}
	want.BuyerName = strings.TrimSpace(in.BuyerName)
	c.text("buyer_name", want.BuyerName, maxBuyerNameLen, false)
	if in.RefusalReason != nil {
		r := strings.TrimSpace(*in.RefusalReason)
		want.RefusalReason = &r
	}
	switch {
	case in.Outcome == OutcomeRefused && (want.RefusalReason == nil || *want.RefusalReason == ""):
		c.Add("refusal_reason", "required", "is required when the buyer refuses")
		want.RefusalReason = nil
	case in.Outcome == OutcomeRefused:
		c.text("refusal_reason", *want.RefusalReason, maxRefusalReasonLen, true)
	case want.RefusalReason != nil && *want.RefusalReason != "":
		c.Add("refusal_reason", "outcome", "is given only with outcome refused")
	default:
		want.RefusalReason = nil
	}
	if in.SignedAt != nil {
		// Stored with microseconds: a retry must compare equal to what was stored.
		t := in.SignedAt.UTC().Truncate(time.Microsecond)
		want.SignedAt = &t
	}
	return want, c.List
}

func (s *Service) checkInspection(ctx context.Context, want *New, unit *UnitRef, caller *authz.Principal, c *checker) error {
	if want.InspectionID == nil {
		return nil
	}
	insp, err := s.store.Inspection(ctx, *want.InspectionID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		c.Add("inspection_id", "exists", "is not an inspection of this unit")
		return nil
	case err != nil:
		return err
	}
	// Another user's draft is private to them: it looks like no inspection at all.
	if insp.ProjectID != unit.ProjectID || insp.UnitID == nil || *insp.UnitID != unit.ID ||
		(insp.State == inspectionDraft && insp.InspectorID != caller.UserID) {
		c.Add("inspection_id", "exists", "is not an inspection of this unit")
	}
	return nil
}

func (s *Service) checkSignature(ctx context.Context, want *New, unit *UnitRef, c *checker) error {
	if want.SignatureAttachmentID == uuid.Nil {
		return nil
	}
	a, err := s.store.Attachment(ctx, want.SignatureAttachmentID)
	switch {
	case errors.Is(err, apperr.ErrNotFound):
		c.Add("signature_attachment_id", "exists", "is not an attachment of this unit")
		return nil
	case err != nil:
		return err
	}
	switch {
	case a.ProjectID != unit.ProjectID || a.OwnerType != signatureOwnerType || a.OwnerID != unit.ID:
		c.Add("signature_attachment_id", "exists", "is not an attachment of this unit")
	case a.Purpose != signaturePurpose:
		c.Add("signature_attachment_id", "purpose", "must be an attachment with purpose signature")
	case a.State == attachmentRejected:
		// A pending one counts: phones upload the file when they have signal.
		c.Add("signature_attachment_id", "rejected", "was rejected by the server's checks; upload the signature again")
	}
	return nil
}

// Get returns a sign-off with how the unit's open defects now compare with it.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*Signoff, error) {
	so, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if _, err := authz.Require(ctx, "sign-off", so.ProjectID, readers...); err != nil {
		return nil, err
	}
	if err := s.withCurrent(ctx, so); err != nil {
		return nil, err
	}
	return so, nil
}

// ListByUnit lists a unit's sign-offs in id order, each compared with the open defects now.
func (s *Service) ListByUnit(ctx context.Context, unitID uuid.UUID, req page.Request) (page.Page[Signoff], error) {
	unit, err := s.store.Unit(ctx, unitID)
	if err != nil {
		return page.Page[Signoff]{}, err
	}
	if _, err := authz.Require(ctx, "unit", unit.ProjectID, readers...); err != nil {
		return page.Page[Signoff]{}, err
	}
	p, err := s.store.ListByUnit(ctx, unitID, req)
	if err != nil || len(p.Items) == 0 {
		return p, err
	}
	open, err := s.store.OpenDefects(ctx, unitID)
	if err != nil {
		return page.Page[Signoff]{}, err
	}
	for i := range p.Items {
		p.Items[i].Current = Compare(p.Items[i].Snapshot, p.Items[i].SnapshotSHA256, open)
	}
	return p, nil
}

func (s *Service) withCurrent(ctx context.Context, so *Signoff) error {
	open, err := s.store.OpenDefects(ctx, so.UnitID)
	if err != nil {
		return err
	}
	so.Current = Compare(so.Snapshot, so.SnapshotSHA256, open)
	return nil
}

// checker collects every field error of one input, so the client sees them all at once.
type checker struct{ apperr.Fields }

// text checks a required text; multiline allows line breaks and tabs.
func (c *checker) text(field, v string, maxLen int, multiline bool) {
	c.Text(field, v, true, maxLen, multiline)
}
