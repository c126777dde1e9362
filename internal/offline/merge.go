package offline

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
	"github.com/fieldops/fieldops/internal/authz"
)

// merge applies one change inside its savepoint. A conflict is returned as a result
// (the caller rolls the savepoint back); any error is the domain's answer.
func (a *applier) merge(ctx context.Context, w *Writer, c *Change) (*Result, error) {
	rt, _ := Lookup(w.Type)
	if c.ID == uuid.Nil {
		return nil, apperr.Invalid("the change names no record", apperr.FieldError{Field: "id", Rule: "required", Message: "is required"})
	}
	state, err := a.state(ctx, rt, w, c)
	if err != nil {
		return nil, err
	}
	switch c.Op {
	case OpCreate:
		if w.Create == nil {
			return nil, unsupported(c)
		}
		if state != nil && !state.Deleted {
			p, err := authz.Caller(ctx)
			if err != nil {
				return nil, err
			}
			// The app did not hear back from an earlier push of this create and made
			// more changes since: the record is its own, so this is an update.
			if state.AuthorID == p.UserID {
				return a.update(ctx, w, c, state, max(c.BaseVersion, 1), true)
			}
		}
		if err := w.Create(ctx, c.ID, Fields(c.Fields), c.DeviceTime); err != nil {
			return nil, err
		}
	case OpUpdate:
		if w.Update == nil {
			return nil, unsupported(c)
		}
		if err := requireBase(c); err != nil {
			return nil, err
		}
		if state == nil {
			return nil, apperr.NotFound(w.Type)
		}
		return a.update(ctx, w, c, state, c.BaseVersion, false)
	case OpCommand:
		if w.Command == nil {
			return nil, unsupported(c)
		}
		if err := requireBase(c); err != nil {
			return nil, err
		}
		if state == nil {
			return nil, apperr.NotFound(w.Type)
		}
		// A status the server changed since the app's base version decides first: the
		// command was given against a state that is gone.
		if changed := changedSince(state, w.CommandColumns, c.BaseVersion); len(changed) > 0 {
			return a.conflict(ctx, w, c.ID, changed)
		}
		if err := w.Command(ctx, c.ID, state.Version, c.Command); err != nil {
			return nil, err
		}
	case OpDelete:
		if w.Delete == nil {
			return nil, unsupported(c)
		}
		if err := requireBase(c); err != nil {
			return nil, err
		}
		if state == nil {
			return nil, apperr.NotFound(w.Type)
		}
		if state.Deleted {
			// Deleted already (this phone's earlier push or another's): the record is
			// gone for everyone, so only its last version is told.
			v := state.Version
			return &Result{Status: StatusApplied, Version: &v}, nil
		}
		// Deleting what someone else changed since would lose their change unseen.
		if state.Version != c.BaseVersion {
			return a.conflict(ctx, w, c.ID, changedSince(state, nil, c.BaseVersion))
		}
		if err := w.Delete(ctx, c.ID, state.Version); err != nil {
			return nil, err
		}
	default:
		return nil, apperr.Invalid("unknown operation", apperr.FieldError{Field: "op", Rule: "oneof", Message: "must be create, update, delete or command"})
	}
	return a.applied(ctx, rt, c.ID)
}

// update merges fields field by field: a field conflicts only when the server changed
// it after base and holds a different value than the one sent. Fields sent with the
// value the server already has are left out; the rest go to the domain service.
func (a *applier) update(ctx context.Context, w *Writer, c *Change, state *RowState, base int, fromCreate bool) (*Result, error) {
	rt, _ := Lookup(w.Type)
	var conflicts []string
	var bad []apperr.FieldError
	patch := Fields{}
	for name, sent := range c.Fields {
		if slices.Contains(w.Keyed, name) {
			sub, clash, err := mergeKeyed(name, sent, state, base)
			if err != nil {
				bad = append(bad, apperr.FieldError{Field: "fields." + name, Rule: "object", Message: "must be an object"})
				continue
			}
			conflicts = append(conflicts, clash...)
			if len(sub) > 0 {
				raw, _ := json.Marshal(sub)
				patch[name] = raw
			}
			continue
		}
		same := sameValue(state.Columns[name], sent)
		if !slices.Contains(w.Patchable, name) {
			// A create resent as an update repeats fields that never change: they
			// must match; an update may not name them.
			if fromCreate && (same || !hasColumn(state, name)) {
				continue
			}
			if fromCreate {
				conflicts = append(conflicts, name)
				continue
			}
			bad = append(bad, apperr.FieldError{Field: "fields." + name, Rule: "read-only", Message: "cannot be changed by an update"})
			continue
		}
		if same {
			continue
		}
		if state.FieldVersions[name] > base {
			conflicts = append(conflicts, name)
			continue
		}
		patch[name] = sent
	}
	if len(bad) > 0 {
		return nil, apperr.Invalid("the change names fields it may not change", bad...)
	}
	if len(conflicts) > 0 {
		slices.Sort(conflicts)
		return a.conflict(ctx, w, c.ID, conflicts)
	}
	if len(patch) == 0 {
		// Nothing to change: the domain service, which checks permissions, is not asked.
		if err := w.visible(ctx, c.ID); err != nil {
			return nil, err
		}
	} else if err := w.Update(ctx, c.ID, state.Version, patch); err != nil {
		return nil, err
	}
	return a.applied(ctx, rt, c.ID)
}

// mergeKeyed merges a map field key by key (inspection answers): each key conflicts
// on its own, recorded in field_versions as "<field>.<key>".
func mergeKeyed(name string, sent json.RawMessage, state *RowState, base int) (map[string]json.RawMessage, []string, error) {
	var want map[string]json.RawMessage
	if err := json.Unmarshal(sent, &want); err != nil {
		return nil, nil, err
	}
	var have map[string]json.RawMessage
	if raw, ok := state.Columns[name]; ok && len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &have); err != nil {
			return nil, nil, err
		}
	}
	out := map[string]json.RawMessage{}
	var clash []string
	for k, v := range want {
		cur, exists := have[k]
		if sameValue(cur, v) || (!exists && isNull(v)) {
			continue
		}
		if state.FieldVersions[name+"."+k] > base {
			clash = append(clash, name+"."+k)
			continue
		}
		out[k] = v
	}
	return out, clash, nil
}

// changedSince lists the columns (all of them when cols is nil) changed after base.
func changedSince(state *RowState, cols []string, base int) []string {
	var out []string
	for col, v := range state.FieldVersions {
		if v > base && (cols == nil || slices.Contains(cols, col) || slices.ContainsFunc(cols, func(c string) bool { return strings.HasPrefix(col, c+".") })) {
			out = append(out, col)
		}
	}
	slices.Sort(out)
	return out
}

// conflict answers the server's record. The domain service has not run yet, so the
// caller's right to see the record is checked here: outside it the answer is its error.
func (a *applier) conflict(ctx context.Context, w *Writer, id uuid.UUID, fields []string) (*Result, error) {
	if err := w.visible(ctx, id); err != nil {
		return nil, err
	}
	rt, _ := Lookup(w.Type)
	r := &Result{Status: StatusConflict, Conflicts: fields}
	return r, a.withRecord(ctx, rt, id, r, nil)
}

func (a *applier) applied(ctx context.Context, rt *RecordType, id uuid.UUID) (*Result, error) {
	r := &Result{Status: StatusApplied}
	return r, a.withRecord(ctx, rt, id, r, nil)
}

func requireBase(c *Change) error {
	if c.BaseVersion < 1 {
		return apperr.Invalid("the change names no base version", apperr.FieldError{Field: "base_version", Rule: "required", Message: "is the version the change was based on (≥ 1)"})
	}
	return nil
}

func unsupported(c *Change) error {
	return apperr.Invalid("this operation is not available for this record type",
		apperr.FieldError{Field: "op", Rule: "supported", Message: string(c.Op) + " is not available for " + c.Type})
}

func hasColumn(state *RowState, name string) bool {
	_, ok := state.Columns[name]
	return ok
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// sameValue compares two JSON values by meaning: numbers as numbers, and strings that
// are both RFC 3339 times as instants (the database writes +00:00, phones write Z).
func sameValue(a, b json.RawMessage) bool {
	if isNull(a) || isNull(b) {
		return isNull(a) == isNull(b)
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return sameAny(x, y)
}

func sameAny(x, y any) bool {
	if xs, ok := x.(string); ok {
		if ys, ok := y.(string); ok {
			if xs == ys {
				return true
			}
			xt, err1 := time.Parse(time.RFC3339Nano, xs)
			yt, err2 := time.Parse(time.RFC3339Nano, ys)
			return err1 == nil && err2 == nil && xt.Equal(yt)
		}
		return false
	}
	return reflect.DeepEqual(x, y)
}
