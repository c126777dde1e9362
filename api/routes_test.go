package api_test

import (
	"strings"
	"testing"

	"github.com/fieldops/fieldops/api/apitest"
)

// Every route the app serves is in openapi.yaml, and every operation there is served.
func TestRoutesMatchTheSpec(t *testing.T) {
	env := apitest.New(t, apitest.WithoutDemo())
	doc := apitest.Spec(t)
	served := map[string]bool{}
	for _, r := range env.Server.App.GetRoutes(true) {
		if r.Method == "HEAD" || r.Method == "USE" || r.Method == "OPTIONS" || strings.HasPrefix(r.Path, "/docs/") {
			continue
		}
		path := fiberToSpec(r.Path)
		served[r.Method+" "+path] = true
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is served but not in openapi.yaml", r.Method, path)
		}
	}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			if !served[method+" "+path] {
				t.Errorf("%s %s is in openapi.yaml but not served", method, path)
			}
		}
	}
}

// fiberToSpec turns /v1/units/:id into /v1/units/{id}.
func fiberToSpec(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + strings.TrimSuffix(s[1:], "?") + "}"
		}
	}
	return strings.Join(segs, "/")
}
