# Sourced by scripts/test: what the tests of several hubs need besides PostgreSQL. Debian's
# `redis-server` (the hubs' pub/sub, and the tests start Redis servers of their own to restart
# them) and `nginx` (the load balancer in front of two hubs, run with deploy/nginx/rapport.conf).
# `cluster_deps` installs them when missing (as root, else it prints the apt-get line);
# `redis_start` starts a redis-server of the run's own on a free port, without systemd, and
# exports RAPPORT_TEST_REDIS for the hub suite's run against PostgreSQL + Redis; `redis_stop`
# stops it again.
#
# A developer may instead export RAPPORT_TEST_REDIS=redis://… for a server of their own.

cluster_installed() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && command -v nginx >/dev/null
}

cluster_deps() {
  cluster_installed && return 0
  if [ "$(id -u)" = 0 ]; then
    echo "installing: redis-server nginx"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # policy-rc.d would be the polite way; there is no init system to start them anyway.
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server nginx >/dev/null
  else
    echo "The tests of several hubs need Redis and nginx. Run: sudo apt-get install redis-server nginx" >&2
  fi
}

# Returns 1 (after a note) when no server can be had; called as an `if` condition.
redis_start() {
  if [ -n "${RAPPORT_TEST_REDIS:-}" ]; then
    echo "using the Redis server of RAPPORT_TEST_REDIS"
    return 0
  fi
  if ! command -v redis-server >/dev/null; then
    echo "no Redis: needs Debian's redis-server, or RAPPORT_TEST_REDIS=redis://… of your own" >&2
    return 1
  fi
  local port
  _redis_dir=$(mktemp -d /tmp/rapport-redis.XXXXXX) || return 1
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])') || return 1
  # No persistence: the hubs keep nothing in Redis that the database does not have.
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --dir "$_redis_dir" \
    --pidfile "$_redis_dir/redis.pid" --logfile "$_redis_dir/redis.log" --save "" --appendonly no || return 1
  _redis_port=$port
  local tries=0
  until redis-cli -p "$port" ping >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 100 ] || { echo "redis-server did not answer; log: $_redis_dir/redis.log" >&2; return 1; }
    sleep 0.05
  done
  export RAPPORT_TEST_REDIS="redis://127.0.0.1:$port"
  echo "Redis on 127.0.0.1:$port (log: $_redis_dir/redis.log)"
}

redis_stop() {
  [ -n "${_redis_port:-}" ] || return 0
  redis-cli -p "$_redis_port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$_redis_dir"
  unset RAPPORT_TEST_REDIS _redis_port
}
