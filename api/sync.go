package api

import (
	"errors"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/compress"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/offline"
)

// registerSyncPullRoutes adds GET /v1/sync/pull, gzip-compressed when the app asks
// (a first pull of a whole scope is megabytes of JSON that compresses tenfold).
func registerSyncPullRoutes(authed fiber.Router, s *offline.PullService) {
	authed.Get("/sync/pull", compress.New(compress.Config{Level: compress.LevelBestSpeed}), func(c *fiber.Ctx) error {
		limit := 0
		if raw := c.Query("limit"); raw != "" {
			n, err := strconv.Atoi(raw)
			if err != nil {
				return apperr.Invalid("bad limit", apperr.FieldError{Field: "limit", Rule: "type", Message: "must be a whole number"})
			}
			limit = n
		}
		res, err := s.Pull(c.UserContext(), c.Query("cursor"), limit)
		if errors.Is(err, offline.ErrReset) {
			return syncReset(c)
		}
		if err != nil {
			return err
		}
		return writeJSON(c, fiber.StatusOK, res)
	})
}

// syncReset answers 410 Gone: the cursor is behind the change log's retention, and
// the app must drop its copy and pull again from an empty cursor.
func syncReset(c *fiber.Ctx) error {
	p := Problem{
		Type: ProblemBase + offline.ErrReset.Code, Title: titleFor(fiber.StatusGone), Status: fiber.StatusGone,
		Detail: offline.ErrReset.Detail, Instance: c.Path(), RequestID: requestID(c),
	}
	body, err := c.App().Config().JSONEncoder(p)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	return c.Status(fiber.StatusGone).Send(body)
}
