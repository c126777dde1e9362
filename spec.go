// Package fieldops holds the API contract, embedded so the binary serves the same
// openapi.yaml that the apps are built against and the tests check responses against.
package fieldops

import _ "embed"

// OpenAPI is openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
