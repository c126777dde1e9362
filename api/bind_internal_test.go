package api

import (
	"regexp"
	"testing"

	"github.com/google/uuid"
)

// TestIsUUID holds the "uuid" rule to the validator's own regular expression, which it
// replaces.
func TestIsUUID(t *testing.T) {
	re := regexp.MustCompile("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
	inputs := []string{
		"", "0", uuid.NewString(), "01A20A4E-55BC-7808-8F86-93558C6ECD2E", "01a20a4e-55bc-7808-8f86-93558c6ecd2",
		"01a20a4e-55bc-7808-8f86-93558c6ecd2ef", "01a20a4e055bc-7808-8f86-93558c6ecd2e", "01a20a4e-55bc-7808-8f86-93558c6ecd2g",
		"g1a20a4e-55bc-7808-8f86-93558c6ecd2e", "01a20a4e-55bc-7808-8f86_93558c6ecd2e", "{01a20a4e-55bc-7808-8f86-93558c6ecd2e}",
		"01a20a4e55bc78088f8693558c6ecd2e", "01a20a4e-55bc-7808-8f86-93558c6ecd2é", " 1a20a4e-55bc-7808-8f86-93558c6ecd2e",
	}
	type body struct {
		ID  *string `json:"id" validate:"omitnil,uuid"`
		Str string  `json:"str" validate:"uuid"`
	}
	for _, in := range inputs {
		want := re.MatchString(in)
		if got := validate.Struct(body{ID: &in, Str: in}) == nil; got != want {
			t.Errorf("%q: valid %v, the validator's expression says %v", in, got, want)
		}
	}
	var id uuid.UUID // a Stringer, as the validator reads it
	if err := validate.Var(id, "uuid"); err != nil {
		t.Errorf("uuid.UUID value: %v", err)
	}
}
