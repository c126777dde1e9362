package offline

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
)

func TestSameValue(t *testing.T) {
	cases := []struct {
		a, b string
		same bool
	}{
		{`"2026-11-23T17:00:00+00:00"`, `"2026-11-23T17:00:00Z"`, true},
		{`"2026-11-23T17:00:00.5+00:00"`, `"2026-11-23T17:00:00Z"`, false},
		{`0.5`, `0.50`, true},
		{`null`, `null`, true},
		{`null`, `"x"`, false},
		{`{"result": "pass"}`, `{"result":"pass"}`, true},
		{`"kitchen"`, `"bath"`, false},
	}
	for _, c := range cases {
		if got := sameValue(json.RawMessage(c.a), json.RawMessage(c.b)); got != c.same {
			t.Errorf("sameValue(%s, %s) = %v", c.a, c.b, got)
		}
	}
}

func TestDependsOnFailed(t *testing.T) {
	bad, op, other := uuid.New(), uuid.New(), uuid.New()
	failed := map[uuid.UUID]uuid.UUID{bad: op}
	cases := map[string]struct {
		c    Change
		want bool
	}{
		"same record":         {Change{ID: bad}, true},
		"reference in fields": {Change{ID: other, Fields: map[string]json.RawMessage{"defect_id": json.RawMessage(`"` + bad.String() + `"`)}}, true},
		"reference in a list": {Change{ID: other, Command: json.RawMessage(`{"attachment_ids": ["` + bad.String() + `"]}`)}, true},
		"unrelated":           {Change{ID: other, Fields: map[string]json.RawMessage{"description": json.RawMessage(`"x"`)}}, false},
	}
	for name, c := range cases {
		got, ok := dependsOnFailed(&c.c, failed)
		if ok != c.want || (ok && got != op) {
			t.Errorf("%s: %v %v", name, got, ok)
		}
	}
}

func TestChangedSince(t *testing.T) {
	st := &RowState{FieldVersions: map[string]int{"status": 4, "owner_id": 2, "answers.a": 5}}
	if got := changedSince(st, []string{"status", "owner_id"}, 3); len(got) != 1 || got[0] != "status" {
		t.Fatalf("commands: %v", got)
	}
	if got := changedSince(st, []string{"answers"}, 3); len(got) != 1 || got[0] != "answers.a" {
		t.Fatalf("keyed: %v", got)
	}
	if got := changedSince(st, nil, 1); len(got) != 3 {
		t.Fatalf("all: %v", got)
	}
}
