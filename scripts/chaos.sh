#!/usr/bin/env bash
# `make chaos`: one PostgreSQL and one API instance of their own, and PostgreSQL killed (-9) and
# restarted under a write load (tests/cluster/chaos_test.py). Removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
key=$(printf '%s chaos' "$root" | sha1sum | cut -c1-12)
port=$((22000 + 0x${key:4:4} % 10000))
api_port=$((port + 1))
dir=/tmp/filmlog-chaos-$key
bin=${FILMLOG_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/filmlog}
pgbin=/usr/lib/postgresql/15/bin
if [ "$(id -u)" = 0 ]; then as_pg() { runuser -u postgres -- "$@"; }; else as_pg() { "$@"; }; fi

cleanup() {
  [ -f "$dir/api.pid" ] && kill "$(cat "$dir/api.pid")" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
cleanup
trap cleanup EXIT
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres: "$dir"
as_pg "$pgbin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
CONF
as_pg "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres filmlog
url="postgres://postgres@127.0.0.1:$port/filmlog"
DATABASE_URL=$url "$bin" migrate >/dev/null
DATABASE_URL=$url "$bin" seed >/dev/null
setsid nohup env DATABASE_URL="$url" FILMLOG_JWT_SECRET="$(head -c 48 /dev/urandom | base64 -w0)" \
  PORT="$api_port" FILMLOG_WORKERS=2 RUST_LOG=warn FILMLOG_RATE_WRITE_PER_IP=1000000/60 \
  FILMLOG_RATE_WRITE_PER_MEMBER=1000000/60 FILMLOG_RATE_READ_PER_IP=1000000/60 \
  FILMLOG_RATE_READ_PER_MEMBER=1000000/60 FILMLOG_RATE_AUTH_PER_IP=1000000/60 \
  FILMLOG_RATE_REGISTER_PER_IP=1000/60 "$bin" serve >"$dir/api.log" 2>&1 &
echo $! >"$dir/api.pid"
for _ in $(seq 60); do curl -fsS "http://127.0.0.1:$api_port/health/ready" >/dev/null 2>&1 && break; sleep 0.25; done
CHAOS_API="http://127.0.0.1:$api_port" CHAOS_API_PID="$(cat "$dir/api.pid")" CHAOS_PGDATA="$dir/data" \
  CHAOS_DB_URL="$url" CHAOS_PGLOG="$dir/server.log" \
  python3 tests/cluster/chaos_test.py
