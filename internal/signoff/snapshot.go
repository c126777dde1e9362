package signoff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/fieldops/fieldops/internal/ids"
	"github.com/google/uuid"
)

// Canonical is the snapshot as the bytes its SHA-256 is taken of: a compact JSON array
// in id order, each defect's keys in the order of Defect's fields, times in UTC RFC
// 3339 with only the fractional digits needed, non-ASCII text as UTF-8 and <, >, &
// left as they are. A client can rebuild these bytes from the snapshot it is shown.
func Canonical(s Snapshot) []byte {
	items := make(Snapshot, len(s))
	copy(items, s)
	for i := range items {
		if items[i].DueAt != nil {
			t := items[i].DueAt.UTC()
			items[i].DueAt = &t
		}
	}
	slices.SortFunc(items, func(a, b Defect) int { return bytes.Compare(a.ID[:], b.ID[:]) })
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// A slice of plain structs always encodes.
	_ = enc.Encode(items)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// Hash is the SHA-256 of the snapshot's canonical bytes.
func Hash(s Snapshot) [32]byte { return sha256.Sum256(Canonical(s)) }

// HashHex is Hash in lower-case hex.
func HashHex(s Snapshot) string {
	h := Hash(s)
	return hex.EncodeToString(h[:])
}

// Compare sets out what differs between the signed snapshot and the open defects now.
func Compare(signed Snapshot, signedHash string, now Snapshot) *Comparison {
	c := &Comparison{SHA256: HashHex(now), Added: []uuid.UUID{}, Removed: []uuid.UUID{}, Changed: []uuid.UUID{}}
	c.Differs = c.SHA256 != signedHash
	before := make(map[uuid.UUID]Defect, len(signed))
	for _, d := range signed {
		before[d.ID] = d
	}
	seen := make(map[uuid.UUID]bool, len(now))
	for _, d := range now {
		seen[d.ID] = true
		old, ok := before[d.ID]
		switch {
		case !ok:
			c.Added = append(c.Added, d.ID)
		case !sameDefect(old, d):
			c.Changed = append(c.Changed, d.ID)
		}
	}
	for _, d := range signed {
		if !seen[d.ID] {
			c.Removed = append(c.Removed, d.ID)
		}
	}
	for _, ids := range [][]uuid.UUID{c.Added, c.Removed, c.Changed} {
		slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	}
	return c
}

func sameDefect(a, b Defect) bool {
	return a.ID == b.ID && a.Category == b.Category && a.Severity == b.Severity && a.Status == b.Status &&
		a.Description == b.Description && equalPtr(a.Room, b.Room) && equalPtr(a.OwnerID, b.OwnerID) && ids.Same(a.DueAt, b.DueAt)
}

func equalPtr[T comparable](a, b *T) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}
