package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/offline"
)

// PushStore keeps the operation log of offline pushes and reads rows for the merge.
type PushStore struct{ db *DB }

// NewPushStore returns the push side's store.
func NewPushStore(db *DB) *PushStore { return &PushStore{db: db} }

var _ offline.Store = (*PushStore)(nil)

func (s *PushStore) conn(ctx context.Context) interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
} {
	return s.db.Gorm(ctx).Statement.ConnPool
}

type opJSON struct {
	OpID       uuid.UUID  `json:"op_id"`
	RecordType string     `json:"record_type"`
	RecordID   uuid.UUID  `json:"record_id"`
	DeviceTime *time.Time `json:"device_time"`
}

// ClaimOps inserts a batch's operations as pending in one statement. ON CONFLICT waits
// for a push of the same operations still running elsewhere, so the stored results are
// the ones read for the operations it did not insert.
func (s *PushStore) ClaimOps(ctx context.Context, deviceID string, userID uuid.UUID, ops []offline.OpRow) (map[uuid.UUID]*offline.Result, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	rows := make([]opJSON, len(ops))
	for i, op := range ops {
		rows[i] = opJSON{OpID: op.OpID, RecordType: op.RecordType, RecordID: op.RecordID, DeviceTime: op.DeviceTime}
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return nil, err
	}
	var claimed int
	err = s.conn(ctx).QueryRowContext(ctx, `
WITH ins AS (
  INSERT INTO sync_ops (device_id, op_id, user_id, record_type, record_id, status, device_time, received_at)
  SELECT $1, x.op_id, $2, x.record_type, x.record_id, 'pending', x.device_time, $3
    FROM jsonb_to_recordset($4::jsonb) AS x(op_id uuid, record_type text, record_id uuid, device_time timestamptz)
   ORDER BY x.op_id -- one order for every push: overlapping retries wait, never deadlock
  ON CONFLICT (device_id, op_id) DO NOTHING
  RETURNING 1)
SELECT count(*) FROM ins`, deviceID, userID, ops[0].ReceivedAt, raw).Scan(&claimed)
	if err != nil {
		return nil, Translate(err)
	}
	if claimed == len(ops) {
		return nil, nil
	}
	ids := make([]string, len(ops))
	for i, op := range ops {
		ids[i] = op.OpID.String()
	}
	idsJSON, _ := json.Marshal(ids) //nolint:errcheck // strings always marshal
	q, err := s.db.Gorm(ctx).Statement.ConnPool.QueryContext(ctx, `
SELECT op_id, user_id, result FROM sync_ops
 WHERE device_id = $1 AND status <> 'pending' AND op_id IN (SELECT jsonb_array_elements_text($2::jsonb)::uuid)`, deviceID, idsJSON)
	if err != nil {
		return nil, Translate(err)
	}
	defer q.Close()
	stored := map[uuid.UUID]*offline.Result{}
	for q.Next() {
		var opID, owner uuid.UUID
		var res []byte
		if err := q.Scan(&opID, &owner, &res); err != nil {
			return nil, err
		}
		if owner != userID {
			// Another account's operation on a shared device id: tell nothing of it.
			stored[opID] = &offline.Result{OpID: opID, Status: offline.StatusRejected, Problem: &offline.Problem{
				Type: offline.ProblemBase + "op-id-taken", Title: "Conflict", Status: 409,
				Detail: "this op_id was used by another user on this device id",
			}}
			continue
		}
		var r offline.Result
		if err := json.Unmarshal(res, &r); err != nil {
			return nil, fmt.Errorf("stored sync result: %w", err)
		}
		stored[opID] = &r
	}
	return stored, Translate(q.Err())
}

type resultJSON struct {
	OpID   uuid.UUID       `json:"op_id"`
	Status string          `json:"status"`
	Result *offline.Result `json:"result"`
}

// SaveResults records the outcomes of claimed operations in one statement.
func (s *PushStore) SaveResults(ctx context.Context, deviceID string, results []*offline.Result) error {
	if len(results) == 0 {
		return nil
	}
	rows := make([]resultJSON, len(results))
	for i, r := range results {
		rows[i] = resultJSON{OpID: r.OpID, Status: string(r.Status), Result: r}
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = s.conn(ctx).ExecContext(ctx, `
UPDATE sync_ops s SET status = x.status, result = x.result
  FROM jsonb_to_recordset($2::jsonb) AS x(op_id uuid, status text, result jsonb)
 WHERE s.device_id = $1 AND s.op_id = x.op_id`, deviceID, raw)
	return Translate(err)
}

// pushTables are the tables a push may lock; the names reach SQL, so they are checked.
var pushTables = map[string]bool{"inspections": true, "defects": true, "defect_comments": true, "work_orders": true, "attachments": true}

// LockRows locks the rows of ids that exist, in the order given.
func (s *PushStore) LockRows(ctx context.Context, table string, ids []uuid.UUID) error {
	if !pushTables[table] {
		return apperr.Internal("push to table %q", table)
	}
	list := make([]string, len(ids))
	for i, id := range ids {
		list[i] = id.String()
	}
	raw, _ := json.Marshal(list) //nolint:errcheck // strings always marshal
	_, err := s.conn(ctx).ExecContext(ctx, `
SELECT 1 FROM `+table+` r
  JOIN jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS x(id, n) ON r.id = x.id::uuid
 ORDER BY x.n FOR UPDATE OF r`, raw)
	return Translate(err)
}

// LockRow reads a row FOR UPDATE with its columns as JSON.
func (s *PushStore) LockRow(ctx context.Context, table, authorColumn string, id uuid.UUID) (*offline.RowState, error) {
	if !pushTables[table] {
		return nil, apperr.Internal("push to table %q", table)
	}
	var raw []byte
	err := s.conn(ctx).QueryRowContext(ctx, `SELECT to_jsonb(r) FROM `+table+` r WHERE r.id = $1 FOR UPDATE`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, Translate(err)
	}
	st := &offline.RowState{}
	if err := json.Unmarshal(raw, &st.Columns); err != nil {
		return nil, err
	}
	var row struct {
		Version       int            `json:"version"`
		FieldVersions map[string]int `json:"field_versions"`
		DeletedAt     *string        `json:"deleted_at"`
	}
	if err := json.Unmarshal(raw, &row); err != nil {
		return nil, err
	}
	st.Version, st.FieldVersions, st.Deleted = row.Version, row.FieldVersions, row.DeletedAt != nil
	if a, ok := st.Columns[authorColumn]; ok {
		_ = json.Unmarshal(a, &st.AuthorID) //nolint:errcheck // a null author stays uuid.Nil
	}
	return st, nil
}

// Record reads one record in the pull's shape, from the registry's declaration.
func (s *PushStore) Record(ctx context.Context, rt *offline.RecordType, id uuid.UUID) (json.RawMessage, error) {
	parts := make([]string, 0, len(rt.Fields))
	for _, f := range rt.Fields {
		parts = append(parts, fmt.Sprintf("'%s', %s", f.JSON, f.SQL))
	}
	// jsonb_build_object takes at most 100 arguments: build in chunks and concatenate.
	var chunks []string
	for len(parts) > 0 {
		n := min(len(parts), 40)
		chunks = append(chunks, "jsonb_build_object("+strings.Join(parts[:n], ", ")+")")
		parts = parts[n:]
	}
	var raw []byte
	err := s.conn(ctx).QueryRowContext(ctx, `SELECT `+strings.Join(chunks, " || ")+` FROM `+rt.Table+` r WHERE r.`+rt.Key+` = $1`, id).Scan(&raw)
	if err != nil {
		return nil, Translate(err)
	}
	if rt.Shape == nil {
		return raw, nil
	}
	var rec map[string]any
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, err
	}
	rt.Shape(rec)
	return json.Marshal(rec)
}
