package api

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/offline"
)

// pushChangeRequest is one change an app made offline; fields are named as the pull
// names them.
type pushChangeRequest struct {
	OpID        string                     `json:"op_id" validate:"required,uuid"`
	Type        string                     `json:"type" validate:"required"`
	ID          string                     `json:"id" validate:"required,uuid"`
	Op          string                     `json:"op" validate:"required,oneof=create update delete command"`
	BaseVersion int                        `json:"base_version" validate:"min=0"`
	Fields      map[string]json.RawMessage `json:"fields"`
	Command     json.RawMessage            `json:"command"`
	DeviceTime  *time.Time                 `json:"device_time"`
}

type pushRequest struct {
	DeviceID string              `json:"device_id" validate:"required,max=200"`
	Changes  []pushChangeRequest `json:"changes" validate:"required,dive"`
}

// syncPushPath is the push's path; its body limit is FIELDOPS_SYNC_MAX_BYTES, not
// FIELDOPS_BODY_LIMIT (see withBodyLimit).
const syncPushPath = "/v1/sync/push"

// registerSyncPushRoutes adds POST /v1/sync/push. The size limits are checked before
// the body is parsed, and answered 413 with the limit that was passed.
func registerSyncPushRoutes(authed fiber.Router, s *offline.PushService) {
	authed.Post("/sync/push", func(c *fiber.Ctx) error {
		limits := s.Limits()
		if len(c.Body()) > limits.MaxBytes {
			return apperr.TooLarge("a push body holds at most " + strconv.Itoa(limits.MaxBytes) + " bytes")
		}
		var req pushRequest
		if err := bindJSON(c, &req); err != nil {
			if len(req.Changes) > limits.MaxChanges {
				return apperr.TooLarge("a push holds at most " + strconv.Itoa(limits.MaxChanges) + " changes")
			}
			return err
		}
		in := offline.PushRequest{DeviceID: req.DeviceID, Changes: make([]offline.Change, len(req.Changes))}
		for i, ch := range req.Changes {
			in.Changes[i] = offline.Change{
				OpID: uuid.MustParse(ch.OpID), Type: ch.Type, ID: uuid.MustParse(ch.ID), Op: offline.Op(ch.Op),
				BaseVersion: ch.BaseVersion, Fields: ch.Fields, Command: ch.Command, DeviceTime: ch.DeviceTime,
			}
		}
		out, err := s.Push(c.UserContext(), in)
		if err != nil {
			return err
		}
		body, err := out.AppendJSON(nil)
		if err != nil {
			return err
		}
		c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
		return c.Status(fiber.StatusOK).Send(body)
	})
}
