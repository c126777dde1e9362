package api_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// procCPU sums the CPU time (user+system, in clock ticks of 10 ms) of every process on
// the machine by command name, so a benchmark can tell how much of the shared cores
// MinIO, PostgreSQL and the test process itself (server and clients) used.
func procCPU() map[string]float64 {
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

// cpuMeter reports, per unit of work, the CPU milliseconds each of MinIO, PostgreSQL
// and the test process spent between start and stop.
type cpuMeter struct{ before map[string]float64 }

func startCPU() cpuMeter { return cpuMeter{before: procCPU()} }

// ms returns the CPU milliseconds each of MinIO, PostgreSQL and the test process
// spent since start.
func (m cpuMeter) ms() map[string]float64 {
	after := procCPU()
	out := map[string]float64{}
	for _, name := range []string{"minio", "postgres", "test"} {
		out[name] = (after[name] - m.before[name]) * 10 // ticks of 10 ms (USER_HZ=100)
	}
	return out
}
