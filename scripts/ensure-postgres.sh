#!/usr/bin/env bash
# Makes sure PostgreSQL is reachable; exits non-zero (with a reason) when it is not.
#
#   scripts/ensure-postgres.sh [DBNAME]
#
# With DATABASE_URL set, only checks that server (DBNAME is ignored: the URL names
# its own database). Otherwise uses the local server on 127.0.0.1:5432, starting the
# installed Debian cluster when it is stopped, and creates DBNAME (as user postgres)
# when it is given and missing.
set -euo pipefail

log() { echo "ensure-postgres: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

command -v pg_isready >/dev/null 2>&1 ||
	die "pg_isready not found: the PostgreSQL client is not installed (apt-get install -y postgresql-client, or postgresql for a local server)"

if [[ -n "${DATABASE_URL:-}" ]]; then
	# Print the URL without its password.
	shown=$(sed -E 's#(://[^:/@]+):[^@]*@#\1:****@#' <<<"$DATABASE_URL")
	if pg_isready -q -t 10 -d "$DATABASE_URL"; then
		log "PostgreSQL at $shown is accepting connections"
		exit 0
	fi
	die "PostgreSQL at DATABASE_URL=$shown is not accepting connections (start it, or unset DATABASE_URL to use a local server on 127.0.0.1:5432)"
fi

HOST=127.0.0.1
PORT=5432
DB="${1:-}"

if [[ -n "$DB" && ! "$DB" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
	die "database name '$DB' must be letters, digits and underscores"
fi

if ! pg_isready -q -h "$HOST" -p "$PORT"; then
	versions=()
	if [[ -d /etc/postgresql ]]; then
		mapfile -t versions < <(ls /etc/postgresql)
	fi
	if [[ ${#versions[@]} -eq 0 ]] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
		die "no PostgreSQL server answers on $HOST:$PORT and none is installed here (no cluster under /etc/postgresql).
  Install one: apt-get install -y postgresql   (Debian; then run this again)
  or point DATABASE_URL at a reachable server."
	fi
	version="${versions[0]}"
	log "PostgreSQL is not answering on $HOST:$PORT; starting cluster $version/main"
	# Exit code 2 means "already running"; anything else is judged by the wait below.
	pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
		log "pg_ctlcluster exited with status $? (waiting anyway)"
	for _ in $(seq 1 30); do
		pg_isready -q -h "$HOST" -p "$PORT" && break
		sleep 1
	done
	if ! pg_isready -q -h "$HOST" -p "$PORT"; then
		logfile="/var/log/postgresql/postgresql-$version-main.log"
		[[ -r "$logfile" ]] && tail -n 20 "$logfile" >&2
		die "PostgreSQL $version/main did not accept connections on $HOST:$PORT within 30 s (see $logfile)"
	fi
fi
log "PostgreSQL is accepting connections on $HOST:$PORT"

if [[ -n "$DB" ]]; then
	if ! dbs=$(psql -h "$HOST" -p "$PORT" -U postgres -d postgres -lqtA 2>&1); then
		die "cannot list databases as user postgres on $HOST:$PORT: $dbs"
	fi
	if cut -d'|' -f1 <<<"$dbs" | grep -qxF "$DB"; then
		log "database $DB exists"
	else
		createdb -h "$HOST" -p "$PORT" -U postgres "$DB" || die "could not create database $DB"
		log "created database $DB"
	fi
fi
