package postgres

import (
	"context"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/defect"
	"github.com/fieldops/fieldops/internal/page"
)

func parseDefectUUIDArray(s string) ([]uuid.UUID, error) {
	s = strings.Trim(s, "{}")
	if s == "" {
		return []uuid.UUID{}, nil
	}
	parts := strings.Split(s, ",")
	out := make([]uuid.UUID, len(parts))
	for i, p := range parts {
		id, err := uuid.Parse(p)
		if err != nil {
			return nil, err
		}
		out[i] = id
	}
	return out, nil
}

// InsertEvent implements defect.Store. The project is copied from the defect so the
// history can be read by project without a join.
func (s *DefectStore) InsertEvent(ctx context.Context, e *defect.Event) error {
	var from *string
	if e.FromStatus != nil {
		f := string(*e.FromStatus)
		from = &f
	}
	ids := e.AttachmentIDs
	if ids == nil {
		ids = []uuid.UUID{}
	}
	_, err := s.db.exec(ctx, `INSERT INTO defect_events (defect_id, project_id, action, from_status, to_status, actor_id,
		owner_id, due_at, note, attachment_ids, device_at)
		SELECT $1, d.project_id, $2, $3, $4, $5, $6, $7, $8, $9::uuid[], $10 FROM defects d WHERE d.id = $1`,
		pgUUID(e.DefectID), string(e.Action), from, string(e.ToStatus), pgUUID(e.ActorID),
		pgUUIDPtr(e.OwnerID), e.DueAt, e.Note, uuidArray(ids), e.DeviceAt)
	return err
}

// ListEvents implements defect.Store.
func (s *DefectStore) ListEvents(ctx context.Context, defectID uuid.UUID) ([]defect.Event, error) {
	rows, err := s.db.query(ctx, `SELECT id, defect_id, action, from_status, to_status, actor_id, owner_id, due_at, note,
		attachment_ids::text, device_at, created_at FROM defect_events WHERE defect_id = $1 ORDER BY id`, pgUUID(defectID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []defect.Event{}
	for rows.Next() {
		var e defect.Event
		var ids string
		if err := rows.Scan(&e.ID, &e.DefectID, &e.Action, &e.FromStatus, &e.ToStatus, &e.ActorID, &e.OwnerID, &e.DueAt,
			&e.Note, &ids, &e.DeviceAt, &e.CreatedAt); err != nil {
			return nil, Translate(err)
		}
		if e.AttachmentIDs, err = parseDefectUUIDArray(ids); err != nil {
			return nil, err
		}
		e.CreatedAt = e.CreatedAt.UTC()
		if e.DueAt != nil {
			t := e.DueAt.UTC()
			e.DueAt = &t
		}
		if e.DeviceAt != nil {
			t := e.DeviceAt.UTC()
			e.DeviceAt = &t
		}
		out = append(out, e)
	}
	return out, Translate(rows.Err())
}

const defectCommentColumns = `id, defect_id, author_id, body, device_at, version, created_at, updated_at`

func scanDefectComment(row defectRowScanner) (*defect.Comment, error) {
	var c defect.Comment
	if err := row.Scan(&c.ID, &c.DefectID, &c.AuthorID, &c.Body, &c.DeviceAt, &c.Version, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return nil, err
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if c.DeviceAt != nil {
		t := c.DeviceAt.UTC()
		c.DeviceAt = &t
	}
	return &c, nil
}

// InsertComment implements defect.Store.
func (s *DefectStore) InsertComment(ctx context.Context, projectID uuid.UUID, c *defect.Comment) (*defect.Comment, error) {
	out, err := scanDefectComment(s.db.queryRow(ctx, `INSERT INTO defect_comments (id, defect_id, project_id, author_id, body, device_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+defectCommentColumns,
		pgUUID(c.ID), pgUUID(c.DefectID), pgUUID(projectID), pgUUID(c.AuthorID), c.Body, c.DeviceAt))
	return out, defectError(err, "comment")
}

// GetComment implements defect.Store.
func (s *DefectStore) GetComment(ctx context.Context, id uuid.UUID) (*defect.Comment, error) {
	out, err := scanDefectComment(s.db.queryRow(ctx, `SELECT `+defectCommentColumns+` FROM defect_comments WHERE id = $1 AND deleted_at IS NULL`, pgUUID(id)))
	return out, defectError(err, "comment")
}

// ListComments implements defect.Store.
func (s *DefectStore) ListComments(ctx context.Context, defectID uuid.UUID, req page.Request) (page.Page[defect.Comment], error) {
	rows, err := s.db.query(ctx, `SELECT `+defectCommentColumns+` FROM defect_comments
		WHERE defect_id = $1 AND deleted_at IS NULL AND id > $2 ORDER BY id LIMIT $3`,
		pgUUID(defectID), pgUUID(req.After), req.Limit+1)
	if err != nil {
		return page.Page[defect.Comment]{}, err
	}
	defer rows.Close()
	var out []defect.Comment
	for rows.Next() {
		c, err := scanDefectComment(rows)
		if err != nil {
			return page.Page[defect.Comment]{}, Translate(err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return page.Page[defect.Comment]{}, Translate(err)
	}
	return page.Build(out, req.Limit, func(c defect.Comment) uuid.UUID { return c.ID }), nil
}
