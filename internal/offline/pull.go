// Package offline is the sync protocol that lets the apps work a whole shift offline:
// a registry of the record types that sync, pulls of what changed since a server-made
// cursor, and pushes of the app's own changes, merged field by field.
package offline

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
)

// Pull page sizes, counted in records and deleted ids.
const (
	DefaultPullLimit = 500
	MaxPullLimit     = 5000
)

// ErrReset answers a cursor whose changes the retention clean-up has already removed:
// the app must start over with an empty cursor. The API sends it as 410 Gone.
var ErrReset = &apperr.Error{Kind: apperr.KindConflict, Code: "sync-reset",
	Detail: "this cursor is older than the change log keeps; start over with an empty cursor"}

// Row is one record as the store read it: its key and its JSON object.
type Row struct {
	Key  string
	JSON []byte
}

// LogEntry is one row of the change log.
type LogEntry struct {
	Xid  uint64
	ID   int64
	Type string
	Key  string
}

// PullStore is what a pull needs from the database. Every read checks rows against the
// caller's scope in SQL, so nothing outside it leaves the database.
type PullStore interface {
	// Read runs fn in one read-only transaction (the pull's queries share it).
	Read(ctx context.Context, fn func(ctx context.Context) error) error
	// Position returns the oldest transaction still running (every change below it has
	// committed or never will), the highest xid the retention clean-up removed, and the
	// current snapshot (pg_snapshot text). It is the first call of every pull.
	Position(ctx context.Context) (xmin, purged uint64, snapshot string, err error)
	// ScanRecords reads up to limit live records of t that sc sees, with a key above
	// after in key order: project-level rows of projects only, organization-wide rows
	// when org.
	ScanRecords(ctx context.Context, t *RecordType, sc Scope, projects []uuid.UUID, org bool, after string, limit int) ([]Row, error)
	// ScanHidden reads up to limit keys of live records of t in projects (and
	// organization-wide ones when org) that sc does not see now.
	ScanHidden(ctx context.Context, t *RecordType, sc Scope, projects []uuid.UUID, org bool, after string, limit int) ([]string, error)
	// Changes reads up to limit changes with from <= xid < upper after (afterXid, afterID),
	// in (xid, id) order, of the caller's projects and organization, leaving out other
	// people's drafts and, when seen is set, the transactions visible in that snapshot.
	Changes(ctx context.Context, sc Scope, from, upper, afterXid uint64, afterID int64, seen string, limit int) ([]LogEntry, error)
	// Load reads the records of t among keys that sc sees now.
	Load(ctx context.Context, t *RecordType, sc Scope, keys []string) ([]Row, error)
}

// PullService answers pulls.
type PullService struct {
	store PullStore
}

// NewPullService returns the pull service.
func NewPullService(store PullStore) *PullService {
	return &PullService{store: store}
}

// TypeChanges is what changed of one record type: records created or updated (the app
// upserts them by id and keeps the higher version) and ids to delete.
type TypeChanges struct {
	Updated []json.RawMessage `json:"updated"`
	Deleted []string          `json:"deleted"`
}

// PullResult is one page of a pull.
type PullResult struct {
	Changes map[string]*TypeChanges `json:"changes"`
	Cursor  string                  `json:"cursor"`
	HasMore bool                    `json:"has_more"`
}

func newResult() *PullResult {
	r := &PullResult{Changes: make(map[string]*TypeChanges, len(Registry))}
	for _, t := range Registry {
		r.Changes[t.Name] = &TypeChanges{Updated: []json.RawMessage{}, Deleted: []string{}}
	}
	return r
}

func (r *PullResult) add(t *RecordType, rows []Row) error {
	tc := r.Changes[t.Name]
	for _, row := range rows {
		rec := json.RawMessage(row.JSON)
		if t.Shape != nil {
			var m map[string]any
			if err := json.Unmarshal(row.JSON, &m); err != nil {
				return fmt.Errorf("shape %s %s: %w", t.Name, row.Key, err)
			}
			t.Shape(m)
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("shape %s %s: %w", t.Name, row.Key, err)
			}
			rec = b
		}
		tc.Updated = append(tc.Updated, rec)
	}
	return nil
}

// Pull returns the next page of what the caller may see that changed since rawCursor
// (everything, for an empty cursor), and the cursor to send next. limit counts records
// and deleted ids (0: the default).
//
// Positions are transaction ids below the oldest transaction still running, so a change
// committed late by a slow transaction still lies ahead of every cursor handed out while
// it ran. A first pull (and a project that joins the caller's scope) is a snapshot; what
// changes while it is read comes again in the next round: the app upserts by version.
func (s *PullService) Pull(ctx context.Context, rawCursor string, limit int) (*PullResult, error) {
	var res *PullResult
	err := s.store.Read(ctx, func(ctx context.Context) error {
		var err error
		res, err = s.pull(ctx, rawCursor, limit)
		return err
	})
	return res, err
}

func (s *PullService) pull(ctx context.Context, rawCursor string, limit int) (*PullResult, error) {
	p, err := authz.Caller(ctx)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = DefaultPullLimit
	}
	if limit < 1 || limit > MaxPullLimit {
		return nil, apperr.Invalid("bad limit", apperr.FieldError{Field: "limit", Rule: "range", Message: fmt.Sprintf("must be from 1 to %d", MaxPullLimit)})
	}
	sc := ScopeOf(p)
	xmin, purged, snapshot, err := s.store.Position(ctx)
	if err != nil {
		return nil, err
	}
	c, err := s.resume(rawCursor, sc, xmin, purged, snapshot)
	if err != nil {
		return nil, err
	}

	res := newResult()
	budget := limit
	if c.Scan != nil {
		done, err := s.scanStep(ctx, sc, c.Scan, &budget, res)
		if err != nil {
			return nil, err
		}
		if !done {
			res.Cursor, res.HasMore = c.encode(), true
			return res, nil
		}
		c.Scan = nil
	}
	if budget == 0 {
		res.Cursor, res.HasMore = c.encode(), true
		return res, nil
	}
	more, err := s.roundStep(ctx, sc, c, xmin, budget, res)
	if err != nil {
		return nil, err
	}
	res.Cursor, res.HasMore = c.encode(), more
	return res, nil
}

// resume decodes the cursor, or starts a first pull, and turns a change of the caller's
// projects or roles into a snapshot of the projects concerned.
func (s *PullService) resume(raw string, sc Scope, xmin, purged uint64, snapshot string) (*cursor, error) {
	if raw == "" {
		// The watermark is taken before anything is read: whatever commits during the
		// snapshot has an xid at or above it and comes again in the next round. What
		// had committed when it began is in the snapshot already and is not sent again,
		// even when a transaction elsewhere on the server holds the watermark back.
		return &cursor{V: cursorVersion, Watermark: xmin, Served: sc.roleKeys(), Seen: snapshot,
			Scan: &scan{Projects: sc.ProjectIDs(), Org: true}}, nil
	}
	c, err := decodeCursor(raw)
	if err != nil {
		return nil, err
	}
	if c.Watermark > xmin || (c.Round != nil && (c.Round.Upper > xmin || c.Round.Upper < c.Watermark)) {
		return nil, errBadCursor
	}
	if purged >= c.Watermark {
		return nil, ErrReset
	}
	added, changed := sc.changedProjects(c.Served)
	if len(added)+len(changed) == 0 {
		return c, nil
	}
	// A new snapshot of the projects concerned (and of the organization's lists, which
	// depend on the roles): records that appear are sent, those that no longer may be
	// seen are sent as deleted. One under way restarts with the union.
	next := &scan{Org: true}
	if c.Scan != nil {
		next.Projects, next.Drop = c.Scan.Projects, c.Scan.Drop
	}
	next.Projects = union(next.Projects, added, changed)
	next.Drop = union(next.Drop, changed)
	c.Scan, c.Served = next, sc.roleKeys()
	return c, nil
}

// scanStep sends the next part of a snapshot; done reports it finished within budget.
func (s *PullService) scanStep(ctx context.Context, sc Scope, sn *scan, budget *int, res *PullResult) (bool, error) {
	for sn.Type < len(Registry) {
		if *budget == 0 {
			return false, nil
		}
		t := Registry[sn.Type]
		orgWide := t.Level == OrgLevel || t.Level == OrgOrProjectLevel || t.Level == BuiltinLevel
		if !sn.Dropping {
			var rows []Row
			if !orgWide || sn.Org {
				var err error
				if rows, err = s.store.ScanRecords(ctx, t, sc, sn.Projects, sn.Org, sn.After, *budget); err != nil {
					return false, err
				}
				if err := res.add(t, rows); err != nil {
					return false, err
				}
			}
			*budget -= len(rows)
			if *budget == 0 && len(rows) > 0 {
				sn.After = rows[len(rows)-1].Key
				continue
			}
			sn.After = ""
			if len(sn.Drop) > 0 {
				sn.Dropping = true
			} else {
				sn.Type++
			}
			continue
		}
		keys, err := s.store.ScanHidden(ctx, t, sc, sn.Drop, sn.Org, sn.After, *budget)
		if err != nil {
			return false, err
		}
		tc := res.Changes[t.Name]
		tc.Deleted = append(tc.Deleted, keys...)
		*budget -= len(keys)
		if *budget == 0 && len(keys) > 0 {
			sn.After = keys[len(keys)-1]
			continue
		}
		sn.After, sn.Dropping = "", false
		sn.Type++
	}
	return true, nil
}

// roundStep sends the next changes of the current round, starting one when none is
// under way; more reports the round did not finish.
func (s *PullService) roundStep(ctx context.Context, sc Scope, c *cursor, xmin uint64, budget int, res *PullResult) (bool, error) {
	if c.Round == nil {
		c.Round = &round{Upper: xmin}
	}
	changes, err := s.store.Changes(ctx, sc, c.Watermark, c.Round.Upper, c.Round.AfterXid, c.Round.AfterID, c.Seen, budget)
	if err != nil {
		return false, err
	}
	byType := map[string][]string{}
	seen := map[string]bool{}
	for _, ch := range changes {
		k := ch.Type + "/" + ch.Key
		if seen[k] {
			continue
		}
		seen[k] = true
		byType[ch.Type] = append(byType[ch.Type], ch.Key)
	}
	for _, t := range Registry {
		keys := byType[t.Name]
		if len(keys) == 0 {
			continue
		}
		rows, err := s.store.Load(ctx, t, sc, keys)
		if err != nil {
			return false, err
		}
		if err := res.add(t, rows); err != nil {
			return false, err
		}
		// What changed but may not be seen now was deleted, left the caller's scope, or
		// became someone else's: the app drops it (a no-op when it never had it).
		visible := make(map[string]bool, len(rows))
		for _, r := range rows {
			visible[r.Key] = true
		}
		tc := res.Changes[t.Name]
		for _, k := range keys {
			if !visible[k] {
				tc.Deleted = append(tc.Deleted, k)
			}
		}
	}
	if len(changes) < budget {
		c.Watermark, c.Round = c.Round.Upper, nil
		if c.Seen != "" && c.Watermark >= snapshotXmax(c.Seen) {
			c.Seen = "" // every transaction it saw is below the watermark now
		}
		return false, nil
	}
	last := changes[len(changes)-1]
	c.Round.AfterXid, c.Round.AfterID = last.Xid, last.ID
	return true, nil
}

// snapshotXmax reads the xmax of a pg_snapshot's text ("xmin:xmax:xip,..."): no
// transaction at or above it was visible in the snapshot. An unreadable one gives 0,
// which keeps the filter until the cursor is dropped (it only ever skips what a
// snapshot saw, so it is safe to keep).
func snapshotXmax(snap string) uint64 {
	parts := strings.SplitN(snap, ":", 3)
	if len(parts) < 2 {
		return 0
	}
	x, err := strconv.ParseUint(parts[1], 10, 64)
	if err != nil {
		return 0
	}
	return x
}

func union(lists ...[]uuid.UUID) []uuid.UUID {
	seen := map[uuid.UUID]bool{}
	var out []uuid.UUID
	for _, l := range lists {
		for _, id := range l {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	sortIDs(out)
	return out
}
