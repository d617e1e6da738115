#!/usr/bin/env bash
# What `make run` and `make test` do. When DATABASE_URL is unset they use the checkout's private
# PostgreSQL cluster (scripts/pg.sh), creating and starting it as needed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

psql_bin() {
  local v
  for v in 18 17 16 15; do [ -x "/usr/lib/postgresql/$v/bin/psql" ] && { echo "/usr/lib/postgresql/$v/bin/psql"; return; }; done
  command -v psql
}

# Runs SQL against the server of $1 (a URL), printing bare rows.
# need_package COMMAND PACKAGE: installs PACKAGE from Debian's archive when COMMAND is missing (as
# root; otherwise says what to install and exits). Succeeds only when it installed something.
need_package() {
  command -v "$1" >/dev/null 2>&1 && return 1
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing $2 (needed by the tests)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2 \
      || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >&2; } \
      || { echo "could not install $2" >&2; exit 1; }
    return 0
  fi
  echo "make test needs $1: sudo apt-get install $2" >&2
  exit 1
}

sql() { "$(psql_bin)" "$1" -v ON_ERROR_STOP=1 -qAtX -c "$2"; }

# The base URL of the server (no database), starting the private cluster when DATABASE_URL is unset.
server_url() {
  if [ -n "${DATABASE_URL:-}" ]; then
    echo "${DATABASE_URL%/*}"
  else
    scripts/pg.sh start "${1:-}"
  fi
}

case "${1:-}" in
  run)
    base=$(server_url)
    if [ -n "${DATABASE_URL:-}" ]; then
      url=$DATABASE_URL
    else
      url="$base/filmlog"
      [ "$(sql "$base/postgres" "SELECT 1 FROM pg_database WHERE datname = 'filmlog'")" = 1 ] || sql "$base/postgres" "CREATE DATABASE filmlog"
    fi
    mkdir -p .data
    if [ -z "${FILMLOG_JWT_SECRET:-}" ]; then
      # Generated once per checkout, never committed: 48 random bytes.
      [ -s .data/jwt-secret ] || (umask 077 && head -c 48 /dev/urandom | base64 -w0 > .data/jwt-secret)
      FILMLOG_JWT_SECRET=$(cat .data/jwt-secret)
      export FILMLOG_JWT_SECRET
    fi
    cargo build -p filmlog
    # Wherever cargo puts its output (CARGO_TARGET_DIR, or target/ by default).
    filmlog=${CARGO_TARGET_DIR:-target}/debug/filmlog
    export DATABASE_URL=$url
    "$filmlog" migrate
    "$filmlog" import-films data/demo/vega-movies.json data/demo/wikipedia-movies.json.gz | grep -v '^  row \|^  undecided: '
    "$filmlog" seed
    port=${PORT:-8080}
    echo
    echo "  API:  http://127.0.0.1:$port/api/v1"
    echo "  Docs: http://127.0.0.1:$port/docs/"
    echo "  Demo members: shirin, tomas, amara, kenji (password: filmlog-demo-password)"
    if [ -z "${FILMLOG_SMTP_URL:-}" ]; then
      echo "  Mail: no FILMLOG_SMTP_URL, so mail is written to ${FILMLOG_MAILBOX_DIR:-$root/.data/mailbox}/*.eml"
    fi
    echo
    PORT=$port exec "$filmlog" serve
    ;;
  test)
    base=$(server_url --test)
    admin="$base/postgres"
    if [ -n "${DATABASE_URL:-}" ]; then admin=$DATABASE_URL; fi
    # Sweep databases left behind by killed test runs.
    for db in $(sql "$admin" "SELECT datname FROM pg_database WHERE datname LIKE 'filmlog\_test\_%' OR datname LIKE 'filmlog\_tpl\_%\_building'"); do
      sql "$admin" "DROP DATABASE IF EXISTS $db WITH (FORCE)"
    done
    export FILMLOG_TEST_DATABASE_URL=$admin
    # The shared rate-limit store is tested against a real Redis (each test starts its own), and
    # CORS in a real headless Chromium (tests/http/browser.rs).
    # (Debian's package starts a system Redis on install: stopped, the tests start their own.)
    need_package redis-server redis-server && pkill -x redis-server 2>/dev/null || true
    need_package chromium chromium || true
    # Mail goes through a real SMTP server (tests/smtp/sink.py, aiosmtpd) run by Debian's Python.
    /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || {
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "installing python3-aiosmtpd (needed by the tests)" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-aiosmtpd >&2 \
          || { DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-aiosmtpd >&2; }
      else
        echo "make test needs python3-aiosmtpd: sudo apt-get install python3-aiosmtpd" >&2
        exit 1
      fi
    }
    shift
    if cargo nextest --version >/dev/null 2>&1; then
      cargo nextest run --workspace --no-fail-fast "$@"
    else
      cargo test --workspace --no-fail-fast "$@"
    fi
    left=$(sql "$admin" "SELECT count(*) FROM pg_database WHERE datname LIKE 'filmlog\_test\_%'")
    echo "test databases left behind: $left"
    ;;
  schema-check)
    # The committed schema.rs must equal what `diesel print-schema` makes of the migrations.
    command -v diesel >/dev/null 2>&1 || scripts/install-tools.sh diesel
    base=$(server_url --test)
    db=filmlog_schema_check_$$
    sql "$base/postgres" "CREATE DATABASE $db"
    trap 'sql "$base/postgres" "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
    out=$(mktemp)
    committed=$(mktemp)
    # `diesel migration run` rewrites schema.rs (diesel.toml): compare with the file as committed,
    # and put it back, so a stale schema.rs can never pass by being regenerated here.
    cp crates/persistence/src/schema.rs "$committed"
    DATABASE_URL="$base/$db" diesel migration run --locked-schema >/dev/null 2>&1 || DATABASE_URL="$base/$db" diesel migration run >/dev/null
    cp "$committed" crates/persistence/src/schema.rs
    DATABASE_URL="$base/$db" diesel print-schema > "$out"
    if diff -u "$committed" "$out"; then
      echo "schema.rs matches the migrations"
    else
      echo "crates/persistence/src/schema.rs differs from the migrations: run 'make schema' and commit it" >&2
      exit 1
    fi
    # down.sql must undo up.sql: redo every migration.
    DATABASE_URL="$base/$db" diesel migration redo --all >/dev/null
    cp "$committed" crates/persistence/src/schema.rs
    echo "every migration's down.sql undoes its up.sql"
    ;;
  schema)
    command -v diesel >/dev/null 2>&1 || scripts/install-tools.sh diesel
    base=$(server_url --test)
    db=filmlog_schema_$$
    sql "$base/postgres" "CREATE DATABASE $db"
    trap 'sql "$base/postgres" "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
    DATABASE_URL="$base/$db" diesel migration run
    ;;
  *)
    echo "usage: $0 run|test|schema|schema-check" >&2
    exit 2
    ;;
esac
