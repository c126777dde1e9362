package offline

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
)

// TestPushResultAppendJSON: the answer built by copying records is the JSON that
// encoding/json makes of the same results (records compacted the same way).
func TestPushResultAppendJSON(t *testing.T) {
	v := 3
	r := PushResult{Results: []Result{
		{OpID: uuid.New(), Status: StatusApplied, Version: &v, Record: json.RawMessage(`{"id":"a","description":"Water \u00e9 under"}`)},
		{OpID: uuid.New(), Status: "duplicate", Version: &v},
		{OpID: uuid.New(), Status: "conflict", Record: json.RawMessage(`{"id":"b"}`), Conflicts: []string{"description"}},
		{OpID: uuid.New(), Status: "rejected", Problem: &Problem{Detail: "no such unit"}},
	}}
	for _, prefix := range [][]byte{nil, []byte("x")} {
		got, err := r.AppendJSON(prefix)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, prefix) {
			t.Fatalf("prefix lost: %.20s", got)
		}
		want, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal(got[len(prefix):], &a); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, got)
		}
		if err := json.Unmarshal(want, &b); err != nil {
			t.Fatal(err)
		}
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("AppendJSON\n%s\nencoding/json\n%s", got, want)
		}
	}
	if got, _ := (&PushResult{}).AppendJSON(nil); string(got) != `{"results":[]}` {
		t.Fatalf("empty: %s", got)
	}
}

// BenchmarkPushResultAppendJSON: the answer to a push of 500 creates, each with a record
// of about 600 bytes.
func BenchmarkPushResultAppendJSON(b *testing.B) {
	v := 1
	rec := json.RawMessage(`{"id":"01a20a4e-55bc-7808-8f86-93558c6ecd2e","description":"` + string(bytes.Repeat([]byte("x"), 540)) + `"}`)
	r := PushResult{Results: make([]Result, 500)}
	for i := range r.Results {
		r.Results[i] = Result{OpID: uuid.New(), Status: StatusApplied, Version: &v, Record: rec}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.AppendJSON(nil); err != nil {
			b.Fatal(err)
		}
	}
}
