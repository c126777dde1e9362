package imaging

import (
	"os"
	"testing"
)

func TestDumpPhoto(t *testing.T) {
	if os.Getenv("DUMP") == "" {
		t.Skip()
	}
	_ = os.WriteFile("/tmp/photo12.jpg", benchPhoto(t), 0o600)
	_ = os.WriteFile("/tmp/photo12.heic", photoHEIC, 0o600)
}
