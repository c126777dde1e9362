// Package archtest checks the layering: internal/ is the domain and depends on no
// HTTP, database, blob, push or queue library, directly or through another package.
package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

var banned = []string{
	"github.com/gofiber/",
	"gorm.io/",
	"github.com/minio/",
	"firebase.google.com/",
	"github.com/riverqueue/",
	"github.com/jackc/",
	"github.com/fieldops/fieldops/api",
	"github.com/fieldops/fieldops/storage",
	"github.com/fieldops/fieldops/push",
	"github.com/fieldops/fieldops/cmd",
}

func TestInternalImportsNoInfrastructure(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test=false", "-f", "{{.ImportPath}}", "github.com/fieldops/fieldops/internal/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too little to judge: %q", deps)
	}
	for _, dep := range deps {
		for _, b := range banned {
			if strings.HasPrefix(dep, b) {
				t.Errorf("internal/ depends on %s; keep it in api/, storage/ or push/", dep)
			}
		}
	}
}
