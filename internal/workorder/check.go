package workorder

import (
	"regexp"
	"strings"

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
type checker struct{ apperr.Fields }

func (c *checker) text(field, v string, required bool, maxLen int) {
	c.Text(field, v, required, maxLen, true)
}

func (c *checker) oneOf(field, v string, allowed []string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.Add(field, "oneof", "must be one of: "+strings.Join(allowed, ", "))
}

func (c *checker) reporterName(v *string) {
	if v != nil {
		c.text("reporter_name", *v, true, maxReporterNameLen)
	}
}

func (c *checker) reporterPhone(v *string) {
	if v != nil && !phonePattern.MatchString(*v) {
		c.Add("reporter_phone", "phone", "must be a phone number: digits, an optional leading +, spaces or dashes")
	}
}

func invalid(field, rule, msg string) error {
	return apperr.Invalid("the request has invalid fields", apperr.FieldError{Field: field, Rule: rule, Message: msg})
}

func requireVersion(v int) error { return apperr.RequireVersion(v) }

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
