package api

import (
	"encoding/base64"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/notify"
)

type markReadRequest struct {
	IDs  []string `json:"ids" validate:"omitempty,max=500,dive,uuid"`
	UpTo *string  `json:"up_to" validate:"omitnil,uuid"`
}

// registerNotificationRoutes adds the caller's own inbox.
func registerNotificationRoutes(authed fiber.Router, s *notify.Service) {
	authed.Get("/notifications", func(c *fiber.Ctx) error {
		q, err := inboxQuery(c)
		if err != nil {
			return err
		}
		p, err := s.Inbox(c.UserContext(), q)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, p)
	})
	authed.Post("/notifications/read", func(c *fiber.Ctx) error {
		var req markReadRequest
		if err := bindJSON(c, &req); err != nil {
			return err
		}
		ids := make([]uuid.UUID, len(req.IDs))
		for i, s := range req.IDs {
			ids[i] = uuid.MustParse(s) // checked by the uuid rule
		}
		var upTo *uuid.UUID
		if req.UpTo != nil {
			id := uuid.MustParse(*req.UpTo)
			upTo = &id
		}
		res, err := s.MarkRead(c.UserContext(), ids, upTo)
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, res)
	})
}

// inboxQuery reads ?after=&cursor=&limit=&unread=&locale=. after is the id of the newest
// notification the app holds (or a cursor this server gave out).
func inboxQuery(c *fiber.Ctx) (notify.ListQuery, error) {
	var q notify.ListQuery
	var err error
	if q.Page, err = pageRequest(c); err != nil {
		return q, err
	}
	if raw := c.Query("after"); raw != "" {
		if q.After, err = uuid.Parse(raw); err != nil {
			b, decErr := base64.RawURLEncoding.DecodeString(raw)
			if decErr != nil || len(b) != 16 {
				return q, apperr.Invalid("bad after", apperr.FieldError{Field: "after", Rule: "cursor", Message: "must be a notification id or a cursor this server gave out"})
			}
			copy(q.After[:], b)
		}
	}
	if raw := c.Query("unread"); raw != "" {
		if q.UnreadOnly, err = strconv.ParseBool(raw); err != nil {
			return q, apperr.Invalid("bad unread", apperr.FieldError{Field: "unread", Rule: "type", Message: "must be true or false"})
		}
	}
	q.Locale = c.Query("locale")
	return q, nil
}
