#!/usr/bin/env bash
# `make cluster` / `make cluster-stop`: Filmlog as it runs in production, on one machine.
#
#   HAProxy (health checks on /health/ready; retries idempotent requests on the other instance)
#     ├── filmlog serve  a1 ─┐   writes: the primary (multi-host URL, target_session_attrs=read-write)
#     └── filmlog serve  a2 ─┤   reads:  the standby (target_session_attrs=read-only), read-your-writes
#                            │   limits: Redis, shared by both instances
#   pg_auto_failover: monitor + node1 + node2 (streaming replication, synchronous commit to the
#   standby, automatic failover); Redis.
#
#   scripts/cluster.sh start      install what is missing (Debian packages), start everything; prints the URL
#   scripts/cluster.sh stop       stop everything (data is kept; `start` resumes it)
#   scripts/cluster.sh destroy    stop and delete the data
#   scripts/cluster.sh status     the formation's state and which processes run
#   scripts/cluster.sh env        the variables the tests use (URLs, ports, directories), as shell assignments
#   scripts/cluster.sh kill-api a1|a2             kill -9 one API instance
#   scripts/cluster.sh start-api a1|a2|solo       start one API instance again (solo: on the primary
#                                                 alone, outside HAProxy; the baseline of cluster-bench)
#   scripts/cluster.sh kill-node node1|node2      kill -9 a database node (its keeper and its PostgreSQL)
#   scripts/cluster.sh start-node node1|node2     start a node's keeper again (it rejoins as a standby)
#   scripts/cluster.sh wait-primary [node]        wait until the formation has a primary and a healthy standby
#
# As root, PostgreSQL runs as the `postgres` user with everything under /tmp (initdb refuses root).
set -euo pipefail

cmd=${1:-start}
arg=${2:-}
root=$(cd "$(dirname "$0")/.." && pwd)
# CLUSTER_NAME keeps clusters of one checkout apart (`make cluster-test` runs its own, "test").
name=${CLUSTER_NAME:-dev}
key=$(printf '%s %s' "$root" "$name" | sha1sum | cut -c1-12)
# Below the ephemeral range (32768-60999), where an outgoing connection could already hold a port.
base_port=$((22000 + 0x${key:4:4} % 10000))
monitor_port=$base_port
node1_port=$((base_port + 1))
node2_port=$((base_port + 2))
redis_port=$((base_port + 3))
lb_port=$((base_port + 4))
a1_port=$((base_port + 5))
a2_port=$((base_port + 6))
a1_metrics_port=$((base_port + 7))
a2_metrics_port=$((base_port + 8))
# `solo`: an extra instance on the primary alone (no standby reads), the baseline of `make cluster-bench`.
solo_port=$((base_port + 9))
solo_metrics_port=$((base_port + 10))
dir=/tmp/filmlog-cluster-$key
pgbin=/usr/lib/postgresql/15/bin
bin=${FILMLOG_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/filmlog}
db=filmlog
monitor_url="postgres://autoctl_node@127.0.0.1:$monitor_port/pg_auto_failover?sslmode=disable"
write_url="postgres://postgres@127.0.0.1:$node1_port,127.0.0.1:$node2_port/$db?target_session_attrs=read-write"
read_url="postgres://postgres@127.0.0.1:$node1_port,127.0.0.1:$node2_port/$db?target_session_attrs=read-only"

# pg_autoctl keeps its own files under XDG_CONFIG_HOME / XDG_DATA_HOME: inside the cluster's directory.
pgenv=(PATH="$pgbin:$PATH" XDG_CONFIG_HOME="$dir/xdg/config" XDG_DATA_HOME="$dir/xdg/data" PGHOST=127.0.0.1)
if [ "$(id -u)" = 0 ]; then
  as_pg() { runuser -u postgres -- env "${pgenv[@]}" "$@"; }
else
  as_pg() { env "${pgenv[@]}" "$@"; }
fi

install_missing() {
  local need=()
  [ -x /usr/bin/pg_autoctl ] || [ -x "$pgbin/pg_autoctl" ] || need+=(postgresql-15-auto-failover)
  command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || need+=(haproxy)
  command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
  [ ${#need[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (Debian packages)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
    # The packages' own services are not ours: the cluster runs its own processes.
    for s in haproxy redis-server; do
      if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$s" >/dev/null 2>&1 || true; fi
      pkill -x "$s" 2>/dev/null || true
    done
  else
    echo "make cluster needs: ${need[*]} (sudo apt-get install ${need[*]})" >&2
    exit 1
  fi
}

pg_autoctl_bin() {
  if [ -x "$pgbin/pg_autoctl" ]; then echo "$pgbin/pg_autoctl"; else command -v pg_autoctl; fi
}

pidfile() { echo "$dir/run/$1.pid"; }
running() { local f; f=$(pidfile "$1"); [ -f "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

# Runs a command in the background as the given user, its output in $dir/log/<name>.log.
spawn() {
  local name=$1; shift
  if [ "$(id -u)" = 0 ] && [ "${as_user:-}" = postgres ]; then
    setsid nohup runuser -u postgres -- env "${pgenv[@]}" "$@" >>"$dir/log/$name.log" 2>&1 &
  else
    setsid nohup env "${pgenv[@]}" "$@" >>"$dir/log/$name.log" 2>&1 &
  fi
  echo $! >"$(pidfile "$name")"
}

wait_for() {
  local what=$1 tries=$2; shift 2
  for _ in $(seq "$tries"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "cluster: $what did not come up; logs in $dir/log" >&2
  tail -n 20 "$dir/log/"*.log >&2 || true
  return 1
}

state() { as_pg "$(pg_autoctl_bin)" show state --pgdata "$dir/monitor" 2>/dev/null; }

# node name → its reported state, e.g. "primary", "secondary", "wait_primary".
node_state() {
  state | awk -F'|' -v n="$1" '{gsub(/ /, "", $1); gsub(/ /, "", $6); gsub(/ /, "", $7)} $1 == n {print $6 "/" $7}'
}

has_primary_and_standby() {
  local s
  s=$(state) || return 1
  echo "$s" | grep -q '| *primary *| *primary *$' && echo "$s" | grep -q '| *secondary *| *secondary *$'
}

first_node_up() {
  state | grep -Eq '^ *node1 .*\| *(single|primary|wait_primary) *\| *(single|primary|wait_primary) *$'
}

start_monitor() {
  local pgctl
  pgctl=$(pg_autoctl_bin)
  if [ ! -f "$dir/monitor/PG_VERSION" ]; then
    as_pg "$pgctl" create monitor --pgdata "$dir/monitor" --pgport "$monitor_port" --hostname 127.0.0.1 \
      --listen 127.0.0.1 --auth trust --no-ssl >>"$dir/log/monitor.log" 2>&1
  fi
  running monitor || as_user=postgres spawn monitor "$pgctl" run --pgdata "$dir/monitor"
  wait_for "the monitor" 60 as_pg "$pgbin/pg_isready" -h 127.0.0.1 -p "$monitor_port"
  # Fast failure detection for a machine whose nodes are a loopback away (the defaults are for
  # networks: 20 s before a node is considered unhealthy).
  local setting
  for setting in health_check_period=1000 health_check_timeout=1000 health_check_max_retries=1 \
    health_check_retry_delay=500 node_considered_unhealthy_timeout=4000 \
    primary_demote_timeout="${CLUSTER_DEMOTE_TIMEOUT_MS:-10000}"; do
    as_pg "$pgbin/psql" -qAtX -h 127.0.0.1 -p "$monitor_port" -U postgres -d pg_auto_failover \
      -c "ALTER SYSTEM SET pgautofailover.${setting%%=*} = ${setting#*=}" >/dev/null
  done
  as_pg "$pgbin/pg_ctl" -D "$dir/monitor" reload >/dev/null
}

start_node() {
  local name=$1 port=$2 pgctl
  pgctl=$(pg_autoctl_bin)
  if [ ! -f "$dir/$name/PG_VERSION" ]; then
    as_pg "$pgctl" create postgres --pgdata "$dir/$name" --pgport "$port" --hostname 127.0.0.1 \
      --name "$name" --dbname "$db" --auth trust --no-ssl --monitor "$monitor_url" \
      --listen 127.0.0.1 >>"$dir/log/$name.log" 2>&1
  fi
  running "$name" || as_user=postgres spawn "$name" "$pgctl" run --pgdata "$dir/$name"
}

start_redis() {
  running redis && return 0
  # Limiter state only: nothing to persist.
  spawn redis redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
    --protected-mode yes --daemonize no
  wait_for "Redis" 40 redis-cli -p "$redis_port" ping
}

api_port() { case $1 in a1) echo "$a1_port" ;; a2) echo "$a2_port" ;; solo) echo "$solo_port" ;; *) echo "no API instance $1" >&2; exit 2 ;; esac; }
metrics_port() { case $1 in a1) echo "$a1_metrics_port" ;; a2) echo "$a2_metrics_port" ;; solo) echo "$solo_metrics_port" ;; esac; }

start_api() {
  local name=$1 port reads
  port=$(api_port "$name")
  running "$name" && return 0
  [ -f "$dir/jwt-secret" ] || head -c 48 /dev/urandom | base64 -w0 >"$dir/jwt-secret"
  reads=FILMLOG_READ_DATABASE_URL="$read_url"
  [ "$name" = solo ] && reads=FILMLOG_READ_DATABASE_URL=
  as_user="" spawn "$name" env DATABASE_URL="$write_url" "$reads" \
    FILMLOG_REDIS_URL="redis://127.0.0.1:$redis_port/0" FILMLOG_INSTANCE="$name" \
    FILMLOG_METRICS_ADDR="127.0.0.1:$(metrics_port "$name")" \
    FILMLOG_JWT_SECRET="$(cat "$dir/jwt-secret")" FILMLOG_TRUSTED_PROXIES=127.0.0.1 \
    HOST=127.0.0.1 PORT="$port" FILMLOG_WORKERS="${FILMLOG_WORKERS:-2}" RUST_LOG="${RUST_LOG:-warn}" \
    ${CLUSTER_API_ENV:-} "$bin" serve
  wait_for "API instance $name" 60 curl -fsS "http://127.0.0.1:$port/health/live"
}

write_haproxy_config() {
  # When no instance is ready (both lost the database during a failover) HAProxy answers itself, in
  # the API's own problem format and with Retry-After.
  body='{"type":"/problems/service-unavailable","title":"Service Unavailable","status":503,"code":"service_unavailable","detail":"no API instance is ready (the database may be failing over); retry after Retry-After seconds"}'
  printf 'HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/problem+json\r\nCache-Control: no-store\r\nRetry-After: 1\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "${#body}" "$body" >"$dir/503.http"
  cat >"$dir/haproxy.cfg" <<CFG
global
    maxconn 4096
    pidfile $dir/run/haproxy.pid

defaults
    mode http
    option httplog
    log stdout format raw local0 info
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # A request that could not reach an instance, or got no answer from one that died under it, is
    # sent to the other instance: always when the connection failed (nothing was delivered), and
    # otherwise only when the request is idempotent (GET, HEAD, OPTIONS, PUT, DELETE) or carries an
    # Idempotency-Key, which the API honours.
    retries 2
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
    errorfile 503 $dir/503.http

frontend api
    bind 127.0.0.1:$lb_port
    acl idempotent method GET HEAD OPTIONS PUT DELETE
    acl keyed req.hdr(Idempotency-Key) -m found
    http-request disable-l7-retry if !idempotent !keyed
    http-request set-header X-Forwarded-For %[src]
    default_backend filmlog

backend filmlog
    balance roundrobin
    option httpchk GET /health/ready
    http-check expect status 200
    default-server inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2
    server a1 127.0.0.1:$a1_port check
    server a2 127.0.0.1:$a2_port check
CFG
}

start_haproxy() {
  write_haproxy_config
  if running haproxy; then return 0; fi
  haproxy -c -q -f "$dir/haproxy.cfg" >&2
  setsid nohup haproxy -W -db -f "$dir/haproxy.cfg" >>"$dir/log/haproxy.log" 2>&1 &
  echo $! >"$(pidfile haproxy)"
  wait_for "HAProxy" 40 curl -fsS "http://127.0.0.1:$lb_port/health/ready"
}

stop_one() {
  local name=$1 sig=${2:-TERM} f
  f=$(pidfile "$name")
  if [ -f "$f" ]; then
    local pid
    pid=$(cat "$f")
    kill -"$sig" "$pid" 2>/dev/null || true
    for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$f"
  fi
}

# Whether a process is gone (a zombie no parent reaped yet counts: it runs nothing).
gone() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  stat=${stat##*) }   # the state follows the command's name, which may hold spaces and parentheses
  [ "${stat%% *}" = Z ]
}

# kill -9 of an API instance, proven: no pidfile, or a process still there 5 s later, is an error
# (a fault test must not pass because its fault never happened).
kill_one() {
  local name=$1 f pid
  f=$(pidfile "$name")
  [ -f "$f" ] || { echo "cluster: no pidfile for $name; nothing was killed" >&2; exit 1; }
  pid=$(cat "$f")
  kill -9 "$pid" 2>/dev/null || { echo "cluster: $name ($pid) was not running" >&2; exit 1; }
  for _ in $(seq 50); do gone "$pid" && break; sleep 0.1; done
  gone "$pid" || { echo "cluster: $name ($pid) survived kill -9" >&2; exit 1; }
  rm -f "$f"
}

node_port() { case $1 in node1) echo "$node1_port" ;; node2) echo "$node2_port" ;; *) echo "no node $1" >&2; exit 2 ;; esac; }

descendants() {
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do
    echo "$child"
    descendants "$child"
  done
}

# kill -9 of a node: its keeper (pg_autoctl and every process under it, PostgreSQL included), as a
# machine loss.
kill_node() {
  local name=$1 f pid victims=""
  f=$(pidfile "$name")
  if [ -f "$f" ]; then
    pid=$(cat "$f")
    victims="$pid $(descendants "$pid")"
    rm -f "$f"
  fi
  if [ -f "$dir/$name/postmaster.pid" ]; then
    pid=$(head -1 "$dir/$name/postmaster.pid")
    victims="$victims $pid $(descendants "$pid")"
  fi
  [ -n "${victims// /}" ] || { echo "cluster: no process of $name to kill" >&2; exit 1; }
  # The moment of the kill, for the fault tests (the search for the processes comes before it).
  date +%s.%N
  # shellcheck disable=SC2086
  kill -9 $victims 2>/dev/null || true
  local v
  for v in $victims; do
    for _ in $(seq 50); do gone "$v" && break; sleep 0.1; done
    gone "$v" || { echo "cluster: $v of $name survived kill -9" >&2; exit 1; }
  done
  if as_pg "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$(node_port "$name")"; then
    echo "cluster: $name still answers after kill -9" >&2
    exit 1
  fi
}

case "$cmd" in
  start)
    install_missing
    [ -x "$bin" ] || { echo "cluster: no server binary at $bin (cargo build --release -p filmlog)" >&2; exit 1; }
    mkdir -p "$dir/log" "$dir/run"
    mkdir -p "$dir/xdg"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir" "$dir/log" "$dir/run" "$dir/xdg"; chmod 755 "$dir"; fi
    start_monitor
    start_node node1 "$node1_port"
    wait_for "node1 as primary" 120 first_node_up
    start_node node2 "$node2_port"
    wait_for "a primary and a standby" 240 has_primary_and_standby
    wait_for "a writable primary" 120 as_pg "$pgbin/psql" -qAtX "$write_url" -c "SELECT 1"
    wait_for "a readable standby" 120 as_pg "$pgbin/psql" -qAtX "$read_url" -c "SELECT 1"
    DATABASE_URL="$write_url" "$bin" migrate >&2
    DATABASE_URL="$write_url" "$bin" seed >/dev/null
    start_redis
    start_api a1
    start_api a2
    start_haproxy
    echo "http://127.0.0.1:$lb_port"
    ;;
  stop)
    for p in haproxy a1 a2 solo redis; do stop_one "$p"; done
    pkill -f "haproxy .*$dir/haproxy.cfg" 2>/dev/null || true
    for n in node2 node1 monitor; do stop_one "$n"; done
    pkill -f "pg_autoctl.*$dir/" 2>/dev/null || true
    echo "stopped"
    ;;
  destroy)
    "$0" stop >/dev/null
    rm -rf "$dir"
    echo "destroyed"
    ;;
  status)
    state || echo "monitor not running"
    for p in monitor node1 node2 redis a1 a2 haproxy; do
      if running "$p"; then echo "$p: running"; else echo "$p: stopped"; fi
    done
    ;;
  env)
    cat <<ENV
CLUSTER_DIR=$dir
CLUSTER_URL=http://127.0.0.1:$lb_port
CLUSTER_A1=http://127.0.0.1:$a1_port
CLUSTER_A2=http://127.0.0.1:$a2_port
CLUSTER_SOLO=http://127.0.0.1:$solo_port
CLUSTER_A1_METRICS=http://127.0.0.1:$a1_metrics_port/metrics
CLUSTER_A2_METRICS=http://127.0.0.1:$a2_metrics_port/metrics
CLUSTER_WRITE_URL='$write_url'
CLUSTER_READ_URL='$read_url'
CLUSTER_NODE1_PORT=$node1_port
CLUSTER_NODE2_PORT=$node2_port
CLUSTER_MONITOR_PORT=$monitor_port
CLUSTER_REDIS_URL=redis://127.0.0.1:$redis_port/0
CLUSTER_JWT_SECRET=$(cat "$dir/jwt-secret" 2>/dev/null || true)
ENV
    ;;
  kill-api) kill_one "$arg" ;;
  start-api) start_api "$arg" ;;
  stop-api) stop_one "$arg" ;;
  kill-node) kill_node "$arg" ;;
  start-node) start_node "$arg" "$(node_port "$arg")" ;;
  wait-primary)
    wait_for "a primary and a standby" 240 has_primary_and_standby
    ;;
  node-state) node_state "$arg" ;;
  *)
    sed -n '2,22p' "$0" >&2
    exit 2
    ;;
esac
