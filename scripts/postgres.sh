# Sourced by scripts/test: a PostgreSQL server of the test run's own, for the second run of the
# hub suite. `postgres_deps` installs Debian's `postgresql` when it is missing (as root, else it
# prints the apt-get line); `postgres_start` creates a cluster in a temporary directory on a free
# port and starts it without systemd, with a role and a database for the tests, and exports
# RAPPORT_TEST_POSTGRES (the server) and RAPPORT_TEST_POSTGRES_CLUSTER (pg_ctlcluster's
# "VERSION NAME", for the tests that restart it); `postgres_stop` drops the cluster again.
#
# A developer may instead export RAPPORT_TEST_POSTGRES (and RAPPORT_TEST_POSTGRES_CLUSTER) for a
# server of their own; without root and without it, the PostgreSQL run is skipped with a note.

postgres_installed() {
  command -v pg_createcluster >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1
}

postgres_deps() {
  [ -n "${RAPPORT_TEST_POSTGRES:-}" ] && return 0
  postgres_installed && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "installing: postgresql"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null
  else
    echo "The hub suite also runs against PostgreSQL. Run: sudo apt-get install postgresql" >&2
  fi
}

# Returns 1 (after a note) when no server can be had. Called as an `if` condition, where `set -e`
# does not apply: every step checks its own status.
postgres_start() {
  if [ -n "${RAPPORT_TEST_POSTGRES:-}" ]; then
    echo "using the server of RAPPORT_TEST_POSTGRES"
    return 0
  fi
  if [ "$(id -u)" != 0 ] || ! postgres_installed; then
    echo "no PostgreSQL: needs root and Debian's postgresql, or RAPPORT_TEST_POSTGRES=postgres://… of your own" >&2
    return 1
  fi
  local version port password
  version=$(ls /usr/lib/postgresql | sort -V | tail -1)
  _pg_cluster="rapport-test-$$"
  _pg_version=$version
  _pg_dir=$(mktemp -d /tmp/rapport-postgres.XXXXXX) || return 1
  chown postgres: "$_pg_dir" || return 1
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
  # fsync off: the tests kill PostgreSQL's processes, never the machine, so what a commit wrote
  # survives in the OS either way; synchronous_commit stays on, so an ack still means written.
  # authentication_timeout 2 s (default 60 s): a test's in-process hub may be dropped while its
  # pool is halfway through logging in, and DROP DATABASE … WITH (FORCE) then waits for that
  # half-open login to time out — a minute per such test.
  pg_createcluster -q "$version" "$_pg_cluster" -d "$_pg_dir/data" -s "$_pg_dir" -l "$_pg_dir/postgresql.log" \
    -p "$port" --start-conf=manual -o fsync=off -o max_connections=200 -o authentication_timeout=2s \
    -- --no-sync --locale=C.UTF-8 --auth-local=peer --auth-host=scram-sha-256 >/dev/null || return 1
  pg_ctlcluster "$version" "$_pg_cluster" start || return 1
  password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  runuser -u postgres -- psql -q -h "$_pg_dir" -p "$port" -d postgres \
    -c "CREATE ROLE rapport LOGIN CREATEDB PASSWORD 'rapport-$password'" \
    -c "CREATE DATABASE rapport OWNER rapport" || return 1
  export RAPPORT_TEST_POSTGRES="postgres://rapport:rapport-$password@127.0.0.1:$port/rapport"
  export RAPPORT_TEST_POSTGRES_CLUSTER="$version $_pg_cluster"
  echo "PostgreSQL $version: cluster $_pg_cluster on 127.0.0.1:$port (log: $_pg_dir/postgresql.log)"
}

postgres_stop() {
  [ -n "${_pg_cluster:-}" ] || return 0
  pg_dropcluster --stop "$_pg_version" "$_pg_cluster" || true
  rm -rf "$_pg_dir"
  unset RAPPORT_TEST_POSTGRES RAPPORT_TEST_POSTGRES_CLUSTER _pg_cluster
}
