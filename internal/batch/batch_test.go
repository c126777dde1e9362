package batch

import (
	"errors"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

type row struct {
	ID uuid.UUID
	N  int
}

func rowID(r *row) uuid.UUID { return r.ID }

// TestRounds: a record written twice goes to a second round, in order, and nothing is
// lost or reordered within a round.
func TestRounds(t *testing.T) {
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	in := []*row{{a, 1}, {b, 1}, {a, 2}, {c, 1}, {a, 3}, {b, 2}}
	got := Rounds(in, rowID)
	want := [][]int{{0, 1, 3}, {2, 5}, {4}} // indexes into in
	if len(got) != len(want) {
		t.Fatalf("%d rounds, want %d", len(got), len(want))
	}
	for r := range want {
		var idx []int
		for _, x := range got[r] {
			idx = append(idx, slices.Index(in, x))
		}
		if !slices.Equal(idx, want[r]) {
			t.Errorf("round %d holds %v, want %v", r, idx, want[r])
		}
	}
	if Rounds[*row](nil, rowID) != nil {
		t.Error("no writes must give no rounds")
	}
}

// TestPreload: one read for the ids not held yet; ids it does not return and ids the
// caller knows absent are held as not existing; held ones are not read again.
func TestPreload(t *testing.T) {
	held, found, missing, absent := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	m := map[uuid.UUID]*row{held: {held, 7}}
	var asked [][]uuid.UUID
	load := func(ids []uuid.UUID) ([]row, error) {
		asked = append(asked, ids)
		return []row{{found, 1}}, nil
	}
	if err := Preload(m, []uuid.UUID{held, found, missing}, []uuid.UUID{absent}, load, rowID); err != nil {
		t.Fatal(err)
	}
	if len(asked) != 1 || !slices.Equal(asked[0], []uuid.UUID{found, missing}) {
		t.Fatalf("read %v, want one read of the two ids not held", asked)
	}
	if m[held].N != 7 || m[found] == nil || m[found].N != 1 {
		t.Fatalf("rows %v", m)
	}
	for _, id := range []uuid.UUID{missing, absent} {
		if r, ok := m[id]; !ok || r != nil {
			t.Errorf("%v: want known not to exist", id)
		}
	}
	// Everything held: no read at all.
	if err := Preload(m, []uuid.UUID{held, missing}, nil, load, rowID); err != nil || len(asked) != 1 {
		t.Fatalf("second preload read again (%d reads, %v)", len(asked), err)
	}
	boom := errors.New("down")
	if err := Preload(map[uuid.UUID]*row{}, []uuid.UUID{found}, nil, func([]uuid.UUID) ([]row, error) { return nil, boom }, rowID); !errors.Is(err, boom) {
		t.Fatalf("a failed read must be returned, got %v", err)
	}
}

// TestJournalAndCache: a rollback restores what the writes after its mark changed;
// the cache reads once per key and keeps a not-found answer.
func TestJournalAndCache(t *testing.T) {
	var j Journal
	m := map[string]int{"a": 1}
	var list []int
	Set(&j, m, "a", 2)
	mark := j.Mark()
	Set(&j, m, "a", 3)
	Set(&j, m, "b", 1)
	Append(&j, &list, 9)
	j.Rollback(mark)
	if m["a"] != 2 || len(m) != 1 || len(list) != 0 {
		t.Fatalf("after rollback: %v %v", m, list)
	}

	var c Cache
	reads := 0
	read := func() (int, error) { reads++; return 0, apperr.NotFound("unit") }
	for range 3 {
		if _, err := Once(&c, "unit:x", read); !errors.Is(err, apperr.ErrNotFound) {
			t.Fatalf("want not found, got %v", err)
		}
	}
	if reads != 1 {
		t.Fatalf("%d reads, want 1", reads)
	}
}
