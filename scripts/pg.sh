#!/usr/bin/env bash
# The checkout's private PostgreSQL cluster, used by `make run` and `make test` when DATABASE_URL is unset.
#
#   scripts/pg.sh start [--test]   create (first time only) and start the cluster; prints its base URL
#   scripts/pg.sh stop             stop it
#   scripts/pg.sh status           say whether it runs
#
# As a normal user the cluster lives in .data/pg. initdb refuses to run as root, so as root it runs as the
# `postgres` user, in /tmp/filmlog-pg-<hash of the repository path> (that user cannot enter /root, where a
# clone may live). The port is derived from the same hash, so two checkouts never collide.
set -euo pipefail

cmd=${1:-start}
mode=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
key=$(printf '%s' "$root" | sha1sum | cut -c1-12)
port=$((20000 + 0x${key:0:4} % 20000))

if [ "$(id -u)" = 0 ]; then
  base=/tmp/filmlog-pg-$key
  as_owner() { runuser -u postgres -- "$@"; }
else
  base=$root/.data/pg
  as_owner() { "$@"; }
fi
data=$base/data
log=$base/server.log

find_bindir() {
  local v
  for v in 18 17 16 15; do
    if [ -x "/usr/lib/postgresql/$v/bin/initdb" ]; then
      echo "/usr/lib/postgresql/$v/bin"
      return 0
    fi
  done
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
    return 0
  fi
  return 1
}

ensure_installed() {
  if find_bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL server binaries are missing; installing them (apt-get install postgresql)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-contrib >&2
    find_bindir >/dev/null && return 0
  fi
  echo "PostgreSQL 15 or newer is required and its server binaries were not found." >&2
  echo "Install them with:  sudo apt-get install postgresql postgresql-contrib" >&2
  echo "or set DATABASE_URL to a database you already have." >&2
  exit 1
}

is_running() {
  [ -f "$data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

case "$cmd" in
  start)
    ensure_installed
    bindir=$(find_bindir)
    if [ ! -f "$data/PG_VERSION" ]; then
      mkdir -p "$base"
      [ "$(id -u)" = 0 ] && chown postgres: "$base"
      chmod 700 "$base"
      as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
        || { cat "$base/initdb.log" >&2; exit 1; }
      cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$base'
max_connections = 400
shared_buffers = 256MB
CONF
    fi
    # Settings added after the cluster was created are appended once.
    grep -q '^jit = off' "$data/postgresql.conf" 2>/dev/null || echo "jit = off" | as_owner tee -a "$data/postgresql.conf" >/dev/null
    if ! is_running; then
      opts=""
      if [ "$mode" = "--test" ]; then
        # Test settings: durability is irrelevant for throw-away databases.
        opts="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
      fi
      as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 30 -o "$opts" start >/dev/null \
        || { tail -20 "$log" >&2; exit 1; }
    fi
    echo "postgres://postgres@127.0.0.1:$port"
    ;;
  stop)
    bindir=$(find_bindir) || exit 0
    if is_running; then as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null; echo "stopped"; else echo "not running"; fi
    ;;
  logfile)
    echo "$log"
    ;;
  status)
    bindir=$(find_bindir) || { echo "not installed"; exit 1; }
    if is_running; then echo "running on 127.0.0.1:$port ($data)"; else echo "not running ($data)"; exit 1; fi
    ;;
  *)
    echo "usage: $0 start [--test] | stop | status | logfile" >&2
    exit 2
    ;;
esac
