package offline

import "testing"

// A cursor's snapshot reaches SQL: what PostgreSQL would refuse must be a bad cursor
// (422), never a failed query.
func TestValidSnapshot(t *testing.T) {
	for s, want := range map[string]bool{
		"3:5:":                    true,
		"3:5:3,4":                 true,
		"754:760:755":             true,
		"5:3:":                    false,
		"0:5:":                    false,
		"3:5:9":                   false,
		"3:5:4,3":                 false,
		"3:5:4,4":                 false,
		"3:5":                     false,
		"a:5:":                    false,
		"3:5:4,":                  false,
		"99999999999999999999:5:": false,
	} {
		if got := validSnapshot(s); got != want {
			t.Errorf("validSnapshot(%q) = %v, want %v", s, got, want)
		}
	}
}
