// Package proccpu measures the CPU time of the processes on this machine by command
// name, so a benchmark on shared cores can tell how much of them MinIO, PostgreSQL and
// the test process itself (server and clients) used. It reads /proc (Linux).
package proccpu

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Names are the processes a Meter reports: MinIO, every PostgreSQL process (backends,
// WAL writer, checkpointer…) and the running test binary.
var Names = []string{"minio", "postgres", "test"}

// ticks sums user and system CPU time, in clock ticks of 10 ms (USER_HZ=100), of every
// process by name ("postgres" for all of PostgreSQL's, "test" for a *.test binary).
func ticks() map[string]float64 {
	out := map[string]float64{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		raw, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(raw)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		name := s[open+1 : closing]
		f := strings.Fields(s[closing+1:])
		if len(f) < 13 {
			continue
		}
		// Fields after the name: state is f[0]; utime and stime are fields 14 and 15 of
		// stat, f[11] and f[12] here.
		u, _ := strconv.ParseFloat(f[11], 64)
		st, _ := strconv.ParseFloat(f[12], 64)
		switch {
		case strings.HasPrefix(name, "postgres"):
			name = "postgres"
		case strings.HasSuffix(name, ".test"):
			name = "test"
		}
		out[name] += u + st
	}
	return out
}

// Meter is the CPU time of every process at its start.
type Meter struct{ before map[string]float64 }

// Start reads the CPU time of every process now.
func Start() Meter { return Meter{before: ticks()} }

// MS returns the CPU milliseconds each of Names spent since Start (a process that
// exited meanwhile takes its time with it).
func (m Meter) MS() map[string]float64 {
	after := ticks()
	out := map[string]float64{}
	for _, name := range Names {
		out[name] = (after[name] - m.before[name]) * 10
	}
	return out
}
