package api

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/fieldops/fieldops/internal/signoff"
)

// The sign-off service checks every field and names them as they are named here.
type createSignoffRequest struct {
	ID                    *string    `json:"id" validate:"omitnil,uuid"`
	UnitID                string     `json:"unit_id" validate:"required,uuid"`
	InspectionID          *string    `json:"inspection_id" validate:"omitnil,uuid"`
	Outcome               string     `json:"outcome"`
	RefusalReason         *string    `json:"refusal_reason"`
	BuyerName             string     `json:"buyer_name"`
	SignatureAttachmentID string     `json:"signature_attachment_id" validate:"required,uuid"`
	SignedAt              *time.Time `json:"signed_at"`
}

func (r *createSignoffRequest) toNew() (signoff.New, error) {
	in := signoff.New{Outcome: signoff.Outcome(r.Outcome), RefusalReason: r.RefusalReason, BuyerName: r.BuyerName, SignedAt: r.SignedAt}
	var err error
	if in.ID, err = orgUUIDField("id", r.ID); err != nil {
		return in, err
	}
	if in.InspectionID, err = orgUUIDField("inspection_id", r.InspectionID); err != nil {
		return in, err
	}
	unit, err := orgUUIDField("unit_id", &r.UnitID)
	if err != nil {
		return in, err
	}
	sig, err := orgUUIDField("signature_attachment_id", &r.SignatureAttachmentID)
	if err != nil {
		return in, err
	}
	in.UnitID, in.SignatureAttachmentID = *unit, *sig
	return in, nil
}

// registerSignoffRoutes adds the buyers' sign-offs.
func registerSignoffRoutes(authed fiber.Router, s *signoff.Service) {
	authed.Post("/signoffs", create((*createSignoffRequest).toNew, s.Create))
	authed.Get("/signoffs/:id", getByID(s.Get))
	authed.Get("/units/:id/signoffs", listIn("id", s.ListByUnit))
}
