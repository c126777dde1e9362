// Package buildinfo holds the version stamped into the binary at build time.
package buildinfo

import "runtime/debug"

// Set with -ldflags "-X github.com/fieldops/fieldops/internal/buildinfo.Version=…".
var (
	Version = "dev"
	Commit  = ""
)

// String is the version line printed by `fieldops version` and at start.
func String() string {
	commit := Commit
	if commit == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" && len(s.Value) >= 12 {
					commit = s.Value[:12]
				}
			}
		}
	}
	if commit == "" {
		return Version
	}
	return Version + " (" + commit + ")"
}
