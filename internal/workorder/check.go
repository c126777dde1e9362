package workorder

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/fieldops/fieldops/internal/apperr"
)

// Limits of the fields.
const (
	maxTitleLen          = 200
	maxDescriptionLen    = 4000
	maxLocationDetailLen = 500
	maxReporterNameLen   = 100
	maxNoteLen           = 2000
	maxAttachmentIDs     = 20
)

// phonePattern is what a reporter's phone may look like: digits with an optional
// leading +, spaces and dashes as people write them.
var phonePattern = regexp.MustCompile(`^\+?[0-9][0-9 -]{2,30}[0-9]$`)

// checker collects every field error of one input, so the client sees them all at once.
type checker struct {
	errs []apperr.FieldError
}

func (c *checker) add(field, rule, msg string) {
	c.errs = append(c.errs, apperr.FieldError{Field: field, Rule: rule, Message: msg})
}

func (c *checker) text(field, v string, required bool, maxLen int) {
	switch {
	case required && strings.TrimSpace(v) == "":
		c.add(field, "required", "is required")
	case utf8.RuneCountInString(v) > maxLen:
		c.add(field, "max", fmt.Sprintf("must be at most %d characters", maxLen))
	case strings.IndexFunc(v, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' }) >= 0:
		c.add(field, "printable", "must not contain control characters")
	}
}

func (c *checker) oneOf(field, v string, allowed []string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.add(field, "oneof", "must be one of: "+strings.Join(allowed, ", "))
}

func (c *checker) reporterName(v *string) {
	if v != nil {
		c.text("reporter_name", *v, true, maxReporterNameLen)
	}
}

func (c *checker) reporterPhone(v *string) {
	if v != nil && !phonePattern.MatchString(*v) {
		c.add("reporter_phone", "phone", "must be a phone number: digits, an optional leading +, spaces or dashes")
	}
}

func (c *checker) clientID(id *uuid.UUID) {
	if id != nil && *id == uuid.Nil {
		c.add("id", "uuid", "must not be the nil UUID")
	}
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

// trimmedOrNil trims an optional text and drops it when blank.
func trimmedOrNil(v *string) *string {
	if v == nil {
		return nil
	}
	t := strings.TrimSpace(*v)
	if t == "" {
		return nil
	}
	return &t
}
