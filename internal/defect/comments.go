package defect

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/ids"
	"github.com/fieldops/fieldops/internal/page"
)

// History returns every entry of a defect's history, oldest first.
func (s *Service) History(ctx context.Context, id uuid.UUID) (*History, error) {
	if _, _, err := s.load(ctx, id, NoLock); err != nil {
		return nil, err
	}
	events, err := s.store.ListEvents(ctx, id)
	if err != nil {
		return nil, err
	}
	if events == nil {
		events = []Event{}
	}
	return &History{Items: events}, nil
}

// AddComment adds a remark to a defect anyone who sees it may make. With a
// client-chosen id a retry with the same body returns the comment as it is.
func (s *Service) AddComment(ctx context.Context, defectID uuid.UUID, in NewComment) (_ *Comment, created bool, _ error) {
	var c checker
	c.ClientID(in.ID)
	body := strings.TrimSpace(in.Body)
	c.text("body", body, true, maxCommentLen)
	if in.DeviceAt != nil && in.DeviceAt.After(s.clock().Add(maxClockSkew)) {
		c.Add("device_at", "past", "is more than a day in the future; check the device clock")
	}
	if err := c.Err(); err != nil {
		return nil, false, err
	}
	var out *Comment
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		d, p, err := s.load(ctx, defectID, NoLock)
		if err != nil {
			return err
		}
		if in.ID != nil {
			cur, err := s.store.GetComment(ctx, *in.ID)
			switch {
			case err == nil:
				if cur.DefectID == d.ID && cur.AuthorID == p.UserID && cur.Body == body {
					out = cur
					return nil
				}
				var shown any
				if cur.DefectID == d.ID {
					shown = cur
				}
				return apperr.Conflict("id-exists", "a comment with this id already exists with other fields", shown)
			case !errors.Is(err, apperr.ErrNotFound):
				return err
			}
		}
		id, err := ids.New(in.ID)
		if err != nil {
			return err
		}
		out, err = s.store.InsertComment(ctx, d.ProjectID, &Comment{ID: id, DefectID: d.ID, AuthorID: p.UserID, Body: body, DeviceAt: in.DeviceAt})
		created = err == nil
		return err
	})
	return out, created, err
}

// Comments lists a defect's comments in id order.
func (s *Service) Comments(ctx context.Context, defectID uuid.UUID, req page.Request) (page.Page[Comment], error) {
	if _, _, err := s.load(ctx, defectID, NoLock); err != nil {
		return page.Page[Comment]{}, err
	}
	return s.store.ListComments(ctx, defectID, req)
}

// exportPageSize is how many defects the export reads at a time.
const exportPageSize = 500

// Export reads the defects of a list (supervisors and project admins) a page at a
// time, so a large project is never held in memory whole.
type Export struct {
	s      *Service
	filter Filter
	after  uuid.UUID
	done   bool
}

// Export checks the caller may export the project's defects and the filter.
func (s *Service) Export(ctx context.Context, f Filter) (*Export, error) {
	if err := s.prepareFilter(ctx, &f, managers...); err != nil {
		return nil, err
	}
	return &Export{s: s, filter: f}, nil
}

// Next returns the next rows; none when the export is done.
func (e *Export) Next(ctx context.Context) ([]ExportRow, error) {
	if e.done {
		return nil, nil
	}
	rows, err := e.s.store.ExportDefects(ctx, e.filter, page.Request{After: e.after, Limit: exportPageSize})
	if err != nil {
		return nil, err
	}
	if len(rows) < exportPageSize {
		e.done = true
	}
	if len(rows) > 0 {
		e.after = rows[len(rows)-1].ID
	}
	for i := range rows {
		rows[i].Overdue = isOverdue(&rows[i].Defect, e.filter.Now)
	}
	return rows, nil
}
