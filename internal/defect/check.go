package defect

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

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
type checker struct {
	errs []apperr.FieldError
}

func (c *checker) add(field, rule, msg string) {
	c.errs = append(c.errs, apperr.FieldError{Field: field, Rule: rule, Message: msg})
}

func (c *checker) text(field, v string, required bool, maxLen int) {
	n := utf8.RuneCountInString(v)
	switch {
	case required && strings.TrimSpace(v) == "":
		c.add(field, "required", "is required")
	case n > maxLen:
		c.add(field, "max", fmt.Sprintf("must be at most %d characters", maxLen))
	case strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0:
		c.add(field, "printable", "must not contain control characters")
	}
}

func (c *checker) pin(field string, p *Pin) {
	if p == nil {
		return
	}
	if p.X < 0 || p.X > 1 {
		c.add(field+".x", "range", "must be a fraction of the plan's width, from 0 to 1")
	}
	if p.Y < 0 || p.Y > 1 {
		c.add(field+".y", "range", "must be a fraction of the plan's height, from 0 to 1")
	}
}

func (c *checker) clientID(id *uuid.UUID) {
	if id != nil && *id == uuid.Nil {
		c.add("id", "uuid", "must not be the nil UUID")
	}
}

func (c *checker) has(field string) bool {
	for _, e := range c.errs {
		if e.Field == field {
			return true
		}
	}
	return false
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return apperr.Invalid("the request has invalid fields", c.errs...)
}

func invalid(field, rule, msg string) error {
	return apperr.Invalid("the request has invalid fields", apperr.FieldError{Field: field, Rule: rule, Message: msg})
}

func requireVersion(v int) error {
	if v < 1 {
		return invalid("version", "required", "is required: the version the change is based on")
	}
	return nil
}

func sameUUID(a, b *uuid.UUID) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func sameString(a, b *string) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

func samePin(a, b *Pin) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

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
