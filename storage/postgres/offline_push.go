package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/offline"
)

// PushStore keeps the operation log of offline pushes and reads rows for the merge.
type PushStore struct {
	db *DB
	// columns holds each pushable table's column names (map[string]bool), read from
	// the catalog once.
	columns sync.Map
}

// NewPushStore returns the push side's store.
func NewPushStore(db *DB) *PushStore { return &PushStore{db: db} }

var _ offline.Store = (*PushStore)(nil)

// ClaimOps takes the device's operation log for the rest of the transaction (a push
// from the same device id waits until this one ends) and returns the stored results of
// the operations among opIDs logged before. It also sets the transaction's time zone
// to UTC, in which Records writes times as the pull does.
func (s *PushStore) ClaimOps(ctx context.Context, deviceID string, userID uuid.UUID, opIDs []uuid.UUID) (map[uuid.UUID]*offline.Result, error) {
	if _, err := s.db.exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('fieldops.sync_ops:' || $1, 0)), set_config('TimeZone', 'UTC', true)`, deviceID); err != nil {
		return nil, err
	}
	if len(opIDs) == 0 {
		return nil, nil
	}
	// One primary-key probe per op id (LATERAL, kept apart from the outer query by its
	// LIMIT): a plain join was planned as a read of all the device's logged operations,
	// which grow with every shift it syncs (19,000 rows, 4 ms, by the eighth batch of a
	// benchmark).
	q, err := s.db.query(ctx, `SELECT s.op_id, s.user_id, s.result FROM unnest($2::uuid[]) AS x(op_id)
		CROSS JOIN LATERAL (SELECT s.op_id, s.user_id, s.result FROM sync_ops s
			WHERE s.device_id = $1 AND s.op_id = x.op_id AND s.status <> 'pending' LIMIT 1) s`, deviceID, uuidArray(opIDs))
	if err != nil {
		return nil, err
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

type loggedJSON struct {
	OpID       uuid.UUID       `json:"op_id"`
	RecordType string          `json:"record_type"`
	RecordID   uuid.UUID       `json:"record_id"`
	DeviceTime *time.Time      `json:"device_time"`
	Status     string          `json:"status"`
	Result     *offline.Result `json:"result"`
}

// SaveResults logs operations with their results, in one statement.
func (s *PushStore) SaveResults(ctx context.Context, deviceID string, userID uuid.UUID, ops []offline.LoggedOp) error {
	if len(ops) == 0 {
		return nil
	}
	rows := make([]loggedJSON, len(ops))
	for i, op := range ops {
		rows[i] = loggedJSON{OpID: op.OpID, RecordType: op.RecordType, RecordID: op.RecordID, DeviceTime: op.DeviceTime,
			Status: string(op.Result.Status), Result: op.Result}
	}
	raw, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	_, err = s.db.exec(ctx, `
INSERT INTO sync_ops (device_id, op_id, user_id, record_type, record_id, status, result, device_time, received_at)
SELECT $1, x.op_id, $2, x.record_type, x.record_id, x.status, x.result, x.device_time, $3
  FROM json_to_recordset($4::json) AS x(op_id uuid, record_type text, record_id uuid, device_time timestamptz, status text, result jsonb)`,
		deviceID, pgUUID(userID), ops[0].ReceivedAt, raw)
	return err
}

// pushAuthors are the columns naming who created a pushed record (they reach SQL).
var pushAuthors = map[string]bool{"inspector_id": true, "reported_by": true, "author_id": true, "uploaded_by": true, "created_by": true}

// pushTables are the tables a push may lock; the names reach SQL, so they are checked.
var pushTables = map[string]bool{"inspections": true, "defects": true, "defect_comments": true, "work_orders": true, "attachments": true}

// LockRows locks the rows of ids that exist, in the order given, and reads them with
// their columns as JSON; absent ids are left out of the map.
func (s *PushStore) LockRows(ctx context.Context, table, authorColumn string, ids []uuid.UUID, columns []string) (map[uuid.UUID]*offline.RowState, error) {
	if !pushTables[table] || !pushAuthors[authorColumn] {
		return nil, apperr.Internal("push to table %q by %q", table, authorColumn)
	}
	named, err := s.namedColumns(ctx, table, columns)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `
SELECT r.id, r.version, r.field_versions, r.deleted_at IS NOT NULL, r.`+authorColumn+`, `+named+`
  FROM `+table+` r
  JOIN unnest($1::uuid[]) WITH ORDINALITY AS x(id, n) ON r.id = x.id
 ORDER BY x.n FOR UPDATE OF r`, uuidArray(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[uuid.UUID]*offline.RowState, len(ids))
	for rows.Next() {
		var id uuid.UUID
		var author *uuid.UUID
		var stamps, raw []byte
		st := &offline.RowState{}
		if err := rows.Scan(&id, &st.Version, &stamps, &st.Deleted, &author, &raw); err != nil {
			return nil, Translate(err)
		}
		if author != nil {
			st.AuthorID = *author
		}
		if err := json.Unmarshal(stamps, &st.FieldVersions); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(raw, &st.Columns); err != nil {
			return nil, err
		}
		out[id] = st
	}
	return out, Translate(rows.Err())
}

// namedColumns is the SQL of a JSON object of the row r's columns among names (names
// that are no column of the table are left out), as to_jsonb(r) would write them:
// building the whole row's JSON to pick a few keys cost ten times as much.
func (s *PushStore) namedColumns(ctx context.Context, table string, names []string) (string, error) {
	cols, ok := s.columns.Load(table)
	if !ok {
		var list []string
		if err := s.db.Gorm(ctx).Raw(`SELECT attname FROM pg_attribute
			WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, table).Scan(&list).Error; err != nil {
			return "", Translate(err)
		}
		set := make(map[string]bool, len(list))
		for _, c := range list {
			set[c] = true
		}
		cols, _ = s.columns.LoadOrStore(table, set)
	}
	set := cols.(map[string]bool)
	var b strings.Builder
	b.WriteString("jsonb_build_object(")
	n := 0
	for _, name := range names {
		if !set[name] {
			continue
		}
		switch {
		case n > 0 && n%50 == 0: // a function takes at most 100 arguments
			b.WriteString(") || jsonb_build_object(")
		case n > 0:
			b.WriteString(", ")
		}
		n++
		// A catalog column name: quoted as a literal and as an identifier.
		b.WriteString("'" + strings.ReplaceAll(name, "'", "''") + "', r." + pgx.Identifier{name}.Sanitize())
	}
	b.WriteString(")")
	return b.String(), nil
}

// Records reads records in the pull's shape, from the registry's declaration; ids
// not found are left out.
func (s *PushStore) Records(ctx context.Context, rt *offline.RecordType, ids []uuid.UUID) (map[uuid.UUID]offline.Record, error) {
	if !pushTables[rt.Table] || rt.Key != "id" {
		return nil, apperr.Internal("push to table %q", rt.Table)
	}
	// The same JSON as the pull's; ClaimOps set the transaction's time zone to UTC.
	rows, err := s.db.query(ctx, `SELECT r.id, r.version, `+recordJSON(rt)+` FROM unnest($1::uuid[]) AS x(id)
		JOIN `+rt.Table+` r ON r.id = x.id`, uuidArray(ids))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[uuid.UUID]offline.Record, len(ids))
	for rows.Next() {
		var id uuid.UUID
		var version int
		var raw []byte
		if err := rows.Scan(&id, &version, &raw); err != nil {
			return nil, Translate(err)
		}
		if rt.Shape != nil {
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return nil, err
			}
			rt.Shape(rec)
			if raw, err = json.Marshal(rec); err != nil {
				return nil, err
			}
		}
		out[id] = offline.Record{JSON: raw, Version: version}
	}
	return out, Translate(rows.Err())
}
