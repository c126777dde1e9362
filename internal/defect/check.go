package defect

import (
	"strings"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Limits of the fields.
const (
	maxDescriptionLen = 4000
	maxRoomLen        = 64
	maxItemKeyLen     = 200
	maxNoteLen        = 2000
	maxCommentLen     = 4000
	maxAttachmentIDs  = 20
	maxDueHours       = 8760 // a year
	dateLayout        = "2006-01-02"
)

// checker collects every field error of one input, so the client sees them all at once.
type checker struct{ apperr.Fields }

func (c *checker) text(field, v string, required bool, maxLen int) {
	c.Text(field, v, required, maxLen, true)
}

func (c *checker) pin(field string, p *Pin) {
	if p == nil {
		return
	}
	if p.X < 0 || p.X > 1 {
		c.Add(field+".x", "range", "must be a fraction of the plan's width, from 0 to 1")
	}
	if p.Y < 0 || p.Y > 1 {
		c.Add(field+".y", "range", "must be a fraction of the plan's height, from 0 to 1")
	}
}

func invalid(field, rule, msg string) error {
	return apperr.Invalid("the request has invalid fields", apperr.FieldError{Field: field, Rule: rule, Message: msg})
}

func requireVersion(v int) error { return apperr.RequireVersion(v) }

func trimmedPtr(v *string) *string {
	if v == nil {
		return nil
	}
	t := strings.TrimSpace(*v)
	return &t
}

// emptyAsNil drops a blank optional text.
func emptyAsNil(v *string) *string {
	if v == nil || *v == "" {
		return nil
	}
	return v
}
