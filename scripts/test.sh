#!/usr/bin/env bash
# What `make test` (and so .ci/run) runs: makes sure PostgreSQL and MinIO are up and
# libvips is installed, exports where the services are, and runs every test.
#
#   scripts/test.sh [extra go test flags] [packages]
#
# Packages default to ./... (given ones, starting with ./, replace it).
# FIELDOPS_TEST_BENCH=1 runs the benchmarks instead (no -race: it skews timings).
# FIELDOPS_TEST_DATABASE_URL, when set, is used as is (only checked, never started).
# CI is passed through unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

# PostgreSQL.
if [[ -n "${FIELDOPS_TEST_DATABASE_URL:-}" ]]; then
	DATABASE_URL="$FIELDOPS_TEST_DATABASE_URL" scripts/ensure-postgres.sh
else
	# The local server; DATABASE_URL (the app's own database) plays no part here.
	env -u DATABASE_URL scripts/ensure-postgres.sh
	FIELDOPS_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
fi
export FIELDOPS_TEST_DATABASE_URL

# MinIO: stop it on exit only when this run started it.
S3_PORT="${FIELDOPS_TEST_S3_PORT:-19000}"
if ! curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$S3_PORT/minio/health/live" 2>/dev/null; then
	trap 'scripts/ensure-minio.sh stop || true' EXIT
fi
scripts/ensure-minio.sh start >/dev/null
export FIELDOPS_TEST_S3_ENDPOINT="127.0.0.1:$S3_PORT"
export FIELDOPS_TEST_S3_ACCESS_KEY=fieldops-test
export FIELDOPS_TEST_S3_SECRET_KEY=fieldops-test-secret

# libvips (storage/imaging resizes photos through cgo), installed when missing and root.
scripts/ensure-vips.sh

pkgs=(./...)
for arg in "$@"; do
	if [[ "$arg" == ./* || "$arg" == ../* ]]; then
		pkgs=()
		break
	fi
done

if [[ "${FIELDOPS_TEST_BENCH:-}" == 1 ]]; then
	flags=(-run '^$' -bench . -benchmem -count=1 -timeout 30m)
else
	flags=(-race -count=1 -timeout 20m)
fi

set +e
go test "${flags[@]}" "${pkgs[@]}" "$@"
status=$?
set -e
exit "$status"
