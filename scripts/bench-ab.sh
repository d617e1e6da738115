#!/usr/bin/env bash
# `make bench-ab BASE=<rev>`: this build (HEAD) against a pinned release (BASE, default b8f67ee, the first
# bench report), every scenario on both in one run (bench/ab.py). BASE's source is exported from git
# into target/bench-base/<rev>/src and built there once (its own target directory, so HEAD's build
# stays warm); each side gets its own data set, made by its own generator. Writes
# bench/results/<date>-ab.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE:-b8f67ee}
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "make bench-ab needs wrk: sudo apt-get install wrk" >&2; exit 1
  fi
fi
rev=$(git rev-parse --short=7 "$base^{commit}")
cargo build --release -p filmlog -p filmlog-devtools
dir=$PWD/target/bench-base/$rev
if [ ! -x "$dir/target/release/filmlog" ]; then
  echo "building BASE $rev in $dir (once)" >&2
  rm -rf "$dir/src"
  mkdir -p "$dir/src"
  git archive "$rev" | tar -x -C "$dir/src"
  (cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" cargo build --release --bins)
fi
dev=()
if [ -x "$dir/target/release/filmlog-dev" ]; then
  dev=(--base-dev-bin "$dir/target/release/filmlog-dev")
fi
if [ -n "${DATABASE_URL:-}" ]; then
  server=${DATABASE_URL%/*}
else
  # Benchmarks run against a normally configured cluster (fsync on), not the test settings.
  scripts/pg.sh stop >/dev/null
  server=$(scripts/pg.sh start)
fi
# --statements reads pg_stat_statements: preloaded (a restart of the private cluster, once), tracking
# nested statements and planning.
if [[ " $* " == *" --statements "* ]]; then
  psql_() { psql "$server/postgres" -qAtX -v ON_ERROR_STOP=1 -c "$1"; }
  if ! psql_ "SHOW shared_preload_libraries" | grep -q pg_stat_statements; then
    [ -z "${DATABASE_URL:-}" ] || { echo "--statements: preload pg_stat_statements on $server first" >&2; exit 1; }
    psql_ "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" >/dev/null
    scripts/pg.sh stop >/dev/null
    server=$(scripts/pg.sh start)
  fi
  psql_ "ALTER SYSTEM SET pg_stat_statements.track = 'all'" >/dev/null
  psql_ "ALTER SYSTEM SET pg_stat_statements.track_planning = on" >/dev/null
  psql_ "SELECT pg_reload_conf()" >/dev/null
fi
exec python3 bench/ab.py --server-url "$server" --base-rev "$rev" --base-bin "$dir/target/release/filmlog" \
  "${dev[@]}" "$@"
