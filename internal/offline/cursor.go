package offline

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// cursor is where an app is in the stream, made by the server and opaque to the app.
// Tampering gains nothing: every record is checked against the caller's scope as it is
// now; a forged watermark only makes the app receive changes again, or reset.
type cursor struct {
	V int `json:"v"`
	// Watermark: every change with a lower xid has reached the app.
	Watermark uint64 `json:"w"`
	// Served is the scope ("project:role") the app's data was made for.
	Served []string `json:"s"`
	// Scan, when set, is a snapshot under way (a first pull, or projects that joined
	// or changed the scope); it is finished before changes are read.
	Scan *scan `json:"scan,omitempty"`
	// Round, when set, is a round of changes under way: [Watermark, Upper) by (xid, id).
	Round *round `json:"round,omitempty"`
	// Seen is the database snapshot (pg_snapshot text) a first pull began with: the
	// changes of transactions visible in it are in what the pull scanned and are not
	// sent again. Dropped once the watermark passes its xmax.
	Seen string `json:"sn,omitempty"`
}

// scan reads whole tables for some projects, type by type in registry order and by key.
type scan struct {
	// Projects are sent in full; Drop are projects whose records the caller no longer
	// sees (all or some): ids not visible any more are sent as deleted.
	Projects []uuid.UUID `json:"p,omitempty"`
	Drop     []uuid.UUID `json:"d,omitempty"`
	// Org includes the organization-wide types (code lists, shared templates).
	Org bool `json:"o,omitempty"`
	// Type indexes Registry; Dropping is the second pass of that type; After the last key sent.
	Type     int    `json:"t"`
	Dropping bool   `json:"x,omitempty"`
	After    string `json:"a,omitempty"`
}

type round struct {
	Upper    uint64 `json:"u"`
	AfterXid uint64 `json:"ax"`
	AfterID  int64  `json:"ai"`
}

const cursorVersion = 1

// validSnapshot reports a pg_snapshot text PostgreSQL accepts: xmin:xmax:xip,... with
// 1 <= xmin <= xmax and the in-progress ids ascending within [xmin, xmax).
func validSnapshot(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return false
	}
	xmin, err1 := strconv.ParseUint(parts[0], 10, 63)
	xmax, err2 := strconv.ParseUint(parts[1], 10, 63)
	if err1 != nil || err2 != nil || xmin < 1 || xmin > xmax {
		return false
	}
	if parts[2] == "" {
		return true
	}
	last := xmin - 1
	for _, p := range strings.Split(parts[2], ",") {
		x, err := strconv.ParseUint(p, 10, 63)
		if err != nil || x <= last || x >= xmax {
			return false
		}
		last = x
	}
	return true
}

// errBadCursor answers a cursor the server did not make.
var errBadCursor = apperr.Invalid("bad cursor", apperr.FieldError{Field: "cursor", Rule: "cursor", Message: "must be a cursor returned by an earlier pull; start over with an empty cursor"})

func (c *cursor) encode() string {
	b, _ := json.Marshal(c) //nolint:errchkjson // plain struct of numbers, strings and uuids
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) > 64<<10 {
		return nil, errBadCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.V != cursorVersion {
		return nil, errBadCursor
	}
	if c.Scan != nil && (c.Scan.Type < 0 || c.Scan.Type > len(Registry)) {
		return nil, errBadCursor
	}
	if c.Seen != "" && !validSnapshot(c.Seen) {
		return nil, errBadCursor
	}
	return &c, nil
}
