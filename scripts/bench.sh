#!/usr/bin/env bash
# `make bench`: release build, the `medium` data set (generated once, then reused), and every hot
# endpoint against its SQL twin (bench/run.py). Writes bench/results/<date>.{json,md,png}.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else
    echo "make bench needs wrk: sudo apt-get install wrk" >&2; exit 1
  fi
fi
command -v pgbench >/dev/null 2>&1 || { echo "make bench needs pgbench (postgresql-contrib / postgresql-client)" >&2; exit 1; }
python3 -c 'import matplotlib' 2>/dev/null || pip install --quiet matplotlib
cargo build --release -p filmlog -p filmlog-devtools
if [ -n "${DATABASE_URL:-}" ]; then
  base=${DATABASE_URL%/*}
  log=${BENCH_PG_LOG:?set BENCH_PG_LOG to the PostgreSQL server log (stderr format) to capture statements}
else
  # Benchmarks run against a normally configured cluster (fsync on), not the test settings.
  scripts/pg.sh stop >/dev/null
  base=$(scripts/pg.sh start)
  log=$(scripts/pg.sh logfile)
fi
exec python3 bench/run.py --server-url "$base" --pg-log "$log" "$@"
