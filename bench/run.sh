#!/usr/bin/env bash
# Benchmarks login and GET /v1/me against a real fieldops server on a fresh database.
#
#   bench/run.sh
#
# Builds the binary and the load generator (bench/load), creates the database
# fieldops_bench on the local PostgreSQL (dropped first if it exists), migrates it,
# seeds the demo data, serves on 127.0.0.1:18080 and runs:
#   (a) me     open loop at 1,000 req/s for 30 s
#   (b) me     closed loop, 32 workers, 20 s (maximum throughput)
#   (c) login  closed loop, 8 workers, 20 s
# then prints the machine, stops the server and drops the database (also on failure
# or Ctrl-C). The server, PostgreSQL and the load generator share this machine's cores.
#
# Environment (all optional):
#   BENCH_OUT=dir          also keep each scenario's JSON report (a.json, b.json, c.json) there
#   BENCH_PORT=18080       port to serve on
#   BENCH_ME_RATE=1000  BENCH_ME_DURATION=30s  BENCH_MAX_DURATION=20s  BENCH_MAX_WORKERS=32
#   BENCH_LOGIN_DURATION=20s  BENCH_LOGIN_WORKERS=8  BENCH_WARMUP=3s
# DATABASE_URL is ignored: the benchmark always uses its own local database. Other
# FIELDOPS_* variables in the environment reach the server (to compare settings, e.g.
# FIELDOPS_DB_MAX_IDLE_CONNS=20 bench/run.sh); the output lists them.
set -euo pipefail

cd "$(dirname "$0")/.."

DB=fieldops_bench
PGHOST_=127.0.0.1
PGPORT_=5432
PORT="${BENCH_PORT:-18080}"
ADDR="127.0.0.1:$PORT"
BASE="http://$ADDR"
ME_RATE="${BENCH_ME_RATE:-1000}"
ME_DURATION="${BENCH_ME_DURATION:-30s}"
MAX_DURATION="${BENCH_MAX_DURATION:-20s}"
MAX_WORKERS="${BENCH_MAX_WORKERS:-32}"
LOGIN_DURATION="${BENCH_LOGIN_DURATION:-20s}"
LOGIN_WORKERS="${BENCH_LOGIN_WORKERS:-8}"
WARMUP="${BENCH_WARMUP:-3s}"

log() { echo "bench: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/fieldops-bench.XXXXXX")
server_pid=""
db_created=false

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
		log "stopping the server (pid $server_pid)"
		kill -TERM "$server_pid" 2>/dev/null || true
		for _ in $(seq 1 50); do
			kill -0 "$server_pid" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	if $db_created; then
		log "dropping database $DB"
		dropdb -h "$PGHOST_" -p "$PGPORT_" -U postgres --if-exists --force "$DB" ||
			log "could not drop database $DB; drop it by hand"
	fi
	if [[ $rc -ne 0 && -s "$tmp/server.log" ]]; then
		log "last lines of the server log:"
		tail -n 30 "$tmp/server.log" >&2
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build
log "building ./cmd/fieldops and ./bench/load"
go build -o "$tmp/fieldops" ./cmd/fieldops
go build -o "$tmp/load" ./bench/load

# --- database
unset DATABASE_URL
scripts/ensure-postgres.sh
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	die "something already listens on $ADDR; stop it or set BENCH_PORT"
fi
db_created=true # from here on, the trap drops it
dropdb -h "$PGHOST_" -p "$PGPORT_" -U postgres --if-exists --force "$DB"
scripts/ensure-postgres.sh "$DB"

export DATABASE_URL="postgres://postgres@$PGHOST_:$PGPORT_/$DB?sslmode=disable"
export FIELDOPS_ENV=development
export FIELDOPS_ADDR="$ADDR"
FIELDOPS_JWT_SECRET="bench-$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
export FIELDOPS_JWT_SECRET
export FIELDOPS_LOG_LEVEL=warn # the access log is at info: one line per request would be measured too
export FIELDOPS_WORKERS=false
# Every request comes from 127.0.0.1 and signs in as one account: lift the per-IP limit
# (all attempts) and the per-account limit (failed attempts, which also counts attempts
# in flight, since each is reserved before the hash).
export FIELDOPS_LOGIN_LIMIT_PER_IP=1000000
export FIELDOPS_LOGIN_LIMIT_PER_ACCOUNT=1000000
export FIELDOPS_BLOB_DRIVER=local
export FIELDOPS_BLOB_LOCAL_DIR="$tmp/blobs"

"$tmp/fieldops" migrate up >"$tmp/migrate.log" || { cat "$tmp/migrate.log" >&2; die "migrate up failed"; }
"$tmp/fieldops" seed --demo
log "starting the server on $ADDR"
"$tmp/fieldops" serve >"$tmp/server.log" 2>&1 &
server_pid=$!

ready=false
for _ in $(seq 1 60); do
	if ! kill -0 "$server_pid" 2>/dev/null; then
		die "the server exited during start-up"
	fi
	if curl -fs -o /dev/null --max-time 2 "$BASE/readyz" 2>/dev/null; then
		ready=true
		break
	fi
	sleep 0.5
done
$ready || die "the server was not ready on $BASE/readyz within 30 s"
log "server ready"

out="${BENCH_OUT:-$tmp/out}"
mkdir -p "$out"

# metric NAME: the value of one unlabelled-or-single-series metric from /metrics.
metric() {
	curl -fs --max-time 5 "$BASE/metrics" 2>/dev/null | awk -v m="$1" '$1 ~ "^"m"([{]|$)" {print $2; exit}'
}

# cpu_ticks: "machine-busy server postgres" CPU clock ticks so far (busy = user, nice,
# system, irq, softirq of all cores; postgres = every process named postgres, with the
# time of exited children, so backends closed during the run still count).
cpu_ticks() {
	local busy srv pg=0 f line
	busy=$(awk '/^cpu / {print $2+$3+$4+$7+$8}' /proc/stat)
	line=$(sed 's/^.*) //' "/proc/$server_pid/stat" 2>/dev/null) || line=""
	srv=$(awk '{print $12+$13}' <<<"${line:-0 0 0 0 0 0 0 0 0 0 0 0 0}")
	for f in /proc/[0-9]*/stat; do
		read -r line <"$f" 2>/dev/null || continue
		[[ $line == *" (postgres) "* ]] || continue
		line=${line#*) }
		pg=$((pg + $(awk '{print $12+$13+$14+$15}' <<<"$line"))) # + cutime, cstime: the postmaster's exited backends
	done
	echo "$busy $srv $pg"
}
CLK_TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

scenario() { # name title args...
	local name=$1 title=$2
	shift 2
	echo
	echo "=== ($name) $title"
	local closed0 wait0 waitd0
	closed0=$(metric go_sql_max_idle_closed_total)
	wait0=$(metric go_sql_wait_count_total)
	waitd0=$(metric go_sql_wait_duration_seconds_total)
	local t0 t1 s0 s1
	t0=$(cpu_ticks)
	s0=$(date +%s.%N)
	"$tmp/load" -url "$BASE" -warmup "$WARMUP" -json-out "$out/$name.json" "$@"
	t1=$(cpu_ticks)
	s1=$(date +%s.%N)
	kill -0 "$server_pid" 2>/dev/null || die "the server died during scenario $name"
	local lg
	lg=$(grep -o '"cpu_s": *[0-9.]*' "$out/$name.json" | grep -o '[0-9.]*$' || echo 0)
	awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v n="$NCPU" -v s0="$s0" -v s1="$s1" -v lg="$lg" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		busy = (y[1]-x[1])/hz; srv = (y[2]-x[2])/hz; pg = (y[3]-x[3])/hz; wall = s1-s0
		other = busy - srv - pg - lg; if (other < 0) other = 0
		printf "cpu        %.1f of %.1f core-seconds busy (%.0f%%): server %.1f, postgres %.1f, load generator %.1f, other processes %.1f (warm-up included)\n", busy, wall*n, 100*busy/(wall*n), srv, pg, lg, other
	}'
	awk -v c0="$closed0" -v c1="$(metric go_sql_max_idle_closed_total)" -v w0="$wait0" -v w1="$(metric go_sql_wait_count_total)" \
		-v d0="$waitd0" -v d1="$(metric go_sql_wait_duration_seconds_total)" \
		'BEGIN { if (c1 != "") printf "db pool    %d connections closed by MaxIdleConns (reopened later), %d waits for a connection (%.1f s in total), warm-up included\n", c1-c0, w1-w0, d1-d0 }'
}

echo "fieldops benchmark: login and GET /v1/me — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "source:  $(git rev-parse --short HEAD 2>/dev/null || echo 'no commit'), Go files digest $(git ls-files -co --exclude-standard -- '*.go' 2>/dev/null | sort | xargs cat 2>/dev/null | sha256sum | cut -c1-12)"
echo "server env: $(env | grep '^FIELDOPS_' | grep -v '^FIELDOPS_JWT_SECRET=' | sort | tr '\n' ' ')"
echo "load avg at start: $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min; above ~0.5 something else is using the cores)"
echo "NOTE: the server, PostgreSQL and the load generator run on the same machine and share its $(nproc) cores;"
echo "      every figure includes the load generator's own CPU use and scheduling delay."
scenario a "GET /v1/me, open loop at $ME_RATE req/s for $ME_DURATION" \
	-scenario me -rate "$ME_RATE" -duration "$ME_DURATION"
scenario b "GET /v1/me, closed loop, $MAX_WORKERS workers for $MAX_DURATION (maximum throughput)" \
	-scenario me -rate 0 -concurrency "$MAX_WORKERS" -duration "$MAX_DURATION"
scenario c "POST /v1/auth/login, closed loop, $LOGIN_WORKERS workers for $LOGIN_DURATION" \
	-scenario login -rate 0 -concurrency "$LOGIN_WORKERS" -duration "$LOGIN_DURATION"

if grep -q '"level":"ERROR"' "$tmp/server.log"; then
	echo
	echo "server errors during the run (first 5):"
	grep '"level":"ERROR"' "$tmp/server.log" | head -n 5
fi

echo
echo "=== machine"
echo "cores:      $(nproc) (shared by the server, PostgreSQL and the load generator)"
echo "cpu:        $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "memory:     $(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel:     $(uname -sr)"
echo "go:         $(go version | cut -d' ' -f3-)"
echo "postgresql: $(psql -h "$PGHOST_" -p "$PGPORT_" -U postgres -d "$DB" -tAc 'SHOW server_version' | sed 's/ .*//')"
echo "fieldops:   $("$tmp/fieldops" version)"
echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min, at the end)"
