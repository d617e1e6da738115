#!/usr/bin/env bash
# `make cluster-bench`: a cluster of its own (CLUSTER_NAME=bench, fresh each run, removed after) and a
# read-heavy mixed load on 1 instance + primary against 2 instances + primary + standby
# (tests/cluster/scale_bench.py). Writes bench/results/<date>-cluster.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null 2>&1 || {
  if [ "$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
  else echo "make cluster-bench needs wrk: sudo apt-get install wrk" >&2; exit 1; fi
}
export CLUSTER_NAME=bench
# Limits far above the load: the benchmark measures the topology, not the limiter.
export CLUSTER_API_ENV="FILMLOG_RATE_READ_PER_IP=100000000/60 FILMLOG_RATE_READ_PER_MEMBER=100000000/60 \
FILMLOG_RATE_WRITE_PER_IP=100000000/60 FILMLOG_RATE_WRITE_PER_MEMBER=100000000/60 \
FILMLOG_RATE_SEARCH_PER_IP=100000000/60 FILMLOG_RATE_SEARCH_PER_MEMBER=100000000/60 \
FILMLOG_RATE_AUTH_PER_IP=100000/60 FILMLOG_RATE_REGISTER_PER_IP=100000/60"
scripts/cluster.sh destroy >/dev/null
trap 'scripts/cluster.sh destroy >/dev/null 2>&1 || true' EXIT
scripts/cluster.sh start >/dev/null
# The seed's demo data plus the whole demo catalog (about 3,000 films) to read.
eval "$(scripts/cluster.sh env | grep '^CLUSTER_WRITE_URL=')"
DATABASE_URL="$CLUSTER_WRITE_URL" "${FILMLOG_BIN:-${CARGO_TARGET_DIR:-target}/release/filmlog}" \
  import-films data/demo/vega-movies.json >/dev/null
scripts/cluster.sh start-api solo >/dev/null
python3 tests/cluster/scale_bench.py "$@"
