package api

import (
	"encoding/hex"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/attachment"
	"github.com/fieldops/fieldops/storage/blob"
)

type locationRequest struct {
	Lat       *float64 `json:"lat" validate:"required,gte=-90,lte=90"`
	Lng       *float64 `json:"lng" validate:"required,gte=-180,lte=180"`
	AccuracyM *float64 `json:"accuracy_m" validate:"omitempty,gte=0"`
}

type createAttachmentRequest struct {
	ID          uuid.UUID        `json:"id" validate:"required"`
	OwnerType   string           `json:"owner_type" validate:"required"`
	OwnerID     uuid.UUID        `json:"owner_id" validate:"required"`
	Purpose     string           `json:"purpose" validate:"required"`
	ContentType string           `json:"content_type" validate:"required"`
	Size        int64            `json:"size" validate:"required,gt=0"`
	SHA256      string           `json:"sha256" validate:"required,len=64,hexadecimal"`
	CapturedAt  *time.Time       `json:"captured_at"`
	Location    *locationRequest `json:"location"`
}

func registerAttachmentRoutes(authed fiber.Router, s *attachment.Service) {
	authed.Post("/attachments", func(c *fiber.Ctx) error {
		var req createAttachmentRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		sum, _ := hex.DecodeString(strings.ToLower(req.SHA256))
		in := attachment.NewAttachment{
			ID: req.ID, OwnerType: req.OwnerType, OwnerID: req.OwnerID, Purpose: req.Purpose,
			ContentType: req.ContentType, Size: req.Size, SHA256: sum, CapturedAt: req.CapturedAt,
		}
		if l := req.Location; l != nil {
			in.Location = &attachment.Location{Lat: *l.Lat, Lng: *l.Lng, AccuracyM: l.AccuracyM}
		}
		p, created, err := s.Create(c.UserContext(), in)
		if err != nil {
			return err
		}
		p.Upload.URL = blob.AbsoluteURL(c.BaseURL(), p.Upload.URL)
		return createdOr200(c, p, created)
	})
	authed.Post("/attachments/:id/complete", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		a, err := s.Complete(c.UserContext(), id)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, a)
	})
	authed.Get("/attachments/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		a, err := s.Get(c.UserContext(), id)
		if err != nil {
			return err
		}
		absoluteURLs(c, &a.URLs)
		return writeJSON(c, fiber.StatusOK, a)
	})
	authed.Delete("/attachments/:id", func(c *fiber.Ctx) error {
		id, err := uuidParam(c, "id")
		if err != nil {
			return err
		}
		if err := s.Purge(c.UserContext(), id); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	})
	authed.Get("/attachments", func(c *fiber.Ctx) error {
		req, err := pageRequest(c)
		if err != nil {
			return err
		}
		ownerID, perr := uuid.Parse(c.Query("owner_id"))
		if perr != nil {
			return apperr.Invalid("owner_id is required", apperr.FieldError{Field: "owner_id", Rule: "uuid", Message: "must be the owner record's UUID"})
		}
		p, err := s.List(c.UserContext(), c.Query("owner_type"), ownerID, req)
		if err != nil {
			return err
		}
		for i := range p.Items {
			absoluteURLs(c, &p.Items[i].URLs)
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
}

// absoluteURLs completes the local store's path-only links with this request's base.
func absoluteURLs(c *fiber.Ctx, u *attachment.URLs) {
	base := c.BaseURL()
	u.Original, u.Thumbnail, u.Preview = blob.AbsoluteURL(base, u.Original), blob.AbsoluteURL(base, u.Thumbnail), blob.AbsoluteURL(base, u.Preview)
}
