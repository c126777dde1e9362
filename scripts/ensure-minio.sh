#!/usr/bin/env bash
# Starts or stops the throw-away MinIO server the tests use.
#
#   scripts/ensure-minio.sh start   # reuse one answering on the port, or start one
#   scripts/ensure-minio.sh stop    # stop the one this script started, if any
#
# The server binary is cached at $FIELDOPS_CACHE/bin/minio (default
# ~/.cache/fieldops/bin/minio) and built from source with `go install` when it is
# missing (MinIO community edition ships source only). It listens on 127.0.0.1 only,
# keeps its data in a fresh temporary folder and logs beside it.
set -euo pipefail

MINIO_MODULE=github.com/minio/minio
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c

CACHE="${FIELDOPS_CACHE:-$HOME/.cache/fieldops}"
MINIO_BIN="$CACHE/bin/minio"
PORT="${FIELDOPS_TEST_S3_PORT:-19000}"
CONSOLE_PORT="${FIELDOPS_TEST_S3_CONSOLE_PORT:-$((PORT + 1))}"
ROOT_USER=fieldops-test
ROOT_PASSWORD=fieldops-test-secret
PID_FILE="$CACHE/minio-test.pid"
DIR_FILE="$CACHE/minio-test.dir"
HEALTH_URL="http://127.0.0.1:$PORT/minio/health/live"

log() { echo "ensure-minio: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

healthy() { curl -fsS -o /dev/null --max-time 2 "$HEALTH_URL" 2>/dev/null; }

# is_our_minio PID: the process is alive and is a MinIO server (guards against a
# recycled pid).
is_our_minio() {
	[[ -n "$1" ]] && kill -0 "$1" 2>/dev/null &&
		tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'minio server'
}

binary_works() { [[ -x "$MINIO_BIN" ]] && "$MINIO_BIN" --version >/dev/null 2>&1; }

ensure_binary() {
	# Another `go install` of MinIO may be writing the same file: wait for it.
	local waited=0
	while pgrep -f "go install $MINIO_MODULE" >/dev/null 2>&1; do
		if ((waited == 0)); then log "a MinIO build is already running; waiting for it to finish"; fi
		if ((waited >= 900)); then die "the other MinIO build is still running after 15 minutes"; fi
		sleep 5
		waited=$((waited + 5))
	done
	if binary_works; then
		return 0
	fi
	command -v go >/dev/null 2>&1 || die "go is not on PATH: cannot build MinIO"
	if [[ -e "$MINIO_BIN" ]]; then
		log "$MINIO_BIN exists but does not run; rebuilding it"
		rm -f -- "$MINIO_BIN"
	fi
	log "building MinIO $MINIO_VERSION into $CACHE/bin (takes 2-3 minutes, once)"
	mkdir -p "$CACHE/bin"
	# Built outside the repository so the project's go.mod plays no part.
	if ! (cd / && GOBIN="$CACHE/bin" go install "$MINIO_MODULE@$MINIO_VERSION"); then
		die "building MinIO failed (go install $MINIO_MODULE@$MINIO_VERSION)"
	fi
	binary_works || die "the MinIO just built at $MINIO_BIN does not run ('minio --version' failed)"
	log "built $MINIO_BIN"
}

# cleanup_state removes what an earlier start left behind (pid file, data folder).
cleanup_state() {
	local dir=""
	[[ -f "$DIR_FILE" ]] && dir=$(<"$DIR_FILE")
	if [[ -n "$dir" && -d "$dir" && "$(basename "$dir")" == fieldops-minio.* ]]; then
		rm -rf -- "$dir"
	fi
	rm -f -- "$PID_FILE" "$DIR_FILE"
}

start() {
	if healthy; then
		log "reusing the MinIO already answering at http://127.0.0.1:$PORT (it must accept $ROOT_USER / $ROOT_PASSWORD)"
		echo "127.0.0.1:$PORT"
		return 0
	fi
	mkdir -p "$CACHE"
	if [[ -f "$PID_FILE" ]]; then
		local old
		old=$(<"$PID_FILE")
		if is_our_minio "$old"; then
			die "MinIO (pid $old, from $PID_FILE) is running but does not answer at $HEALTH_URL; run '$0 stop' first"
		fi
		log "removing stale state of an earlier run (pid $old is gone)"
		cleanup_state
	fi

	ensure_binary

	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/fieldops-minio.XXXXXX")
	mkdir -p "$dir/data"
	echo "$dir" >"$DIR_FILE"
	MINIO_ROOT_USER="$ROOT_USER" MINIO_ROOT_PASSWORD="$ROOT_PASSWORD" \
		MINIO_UPDATE=off \
		nohup "$MINIO_BIN" server \
		--address "127.0.0.1:$PORT" --console-address "127.0.0.1:$CONSOLE_PORT" \
		"$dir/data" >"$dir/minio.log" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$PID_FILE"
	log "started MinIO (pid $pid, data $dir/data, log $dir/minio.log)"

	for _ in $(seq 1 60); do
		if healthy; then
			log "MinIO is ready at http://127.0.0.1:$PORT"
			echo "127.0.0.1:$PORT"
			return 0
		fi
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 30 "$dir/minio.log" >&2 || true
			cleanup_state
			die "MinIO exited during start-up (log above)"
		fi
		sleep 0.5
	done
	tail -n 30 "$dir/minio.log" >&2 || true
	stop
	die "MinIO did not answer at $HEALTH_URL within 30 s (log above)"
}

stop() {
	if [[ ! -f "$PID_FILE" ]]; then
		log "no MinIO started by this script to stop"
		cleanup_state
		return 0
	fi
	local pid
	pid=$(<"$PID_FILE")
	if is_our_minio "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 1 40); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.25
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "MinIO (pid $pid) ignored SIGTERM for 10 s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
		fi
		log "stopped MinIO (pid $pid)"
	else
		log "MinIO (pid $pid) was no longer running"
	fi
	cleanup_state
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*)
	echo "usage: $0 start|stop" >&2
	exit 2
	;;
esac
