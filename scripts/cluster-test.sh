#!/usr/bin/env bash
# `make cluster-test`: a cluster of its own (CLUSTER_NAME=test), fresh each run, put through
# tests/cluster/cluster_test.py, then removed. Writes the figures to target/cluster-test.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export CLUSTER_NAME=test
# Budgets far above what the trials spend, except registrations: the shared-budget trial spends
# those from both instances and counts how many were let through in all.
export CLUSTER_API_ENV="FILMLOG_RATE_READ_PER_IP=1000000/60 FILMLOG_RATE_READ_PER_MEMBER=1000000/60 \
FILMLOG_RATE_WRITE_PER_IP=1000000/60 FILMLOG_RATE_WRITE_PER_MEMBER=1000000/60 \
FILMLOG_RATE_SEARCH_PER_IP=1000000/60 FILMLOG_RATE_SEARCH_PER_MEMBER=1000000/60 \
FILMLOG_RATE_AUTH_PER_IP=1000000/60 FILMLOG_RATE_REGISTER_PER_IP=30/3600 FILMLOG_DB_TIMEOUT_MS=500"
# Mutations (tests/cluster/cluster_test.py's header): the ones the cluster itself must carry.
case "${CLUSTER_MUTATE:-}" in
  no_standby_reads) CLUSTER_API_ENV="$CLUSTER_API_ENV FILMLOG_READ_DATABASE_URL=" ;;
  slow_demote) export CLUSTER_DEMOTE_TIMEOUT_MS=40000 ;;
esac
scripts/cluster.sh destroy >/dev/null
trap 'scripts/cluster.sh destroy >/dev/null 2>&1 || true' EXIT
started=$(date +%s)
scripts/cluster.sh start >/dev/null
echo "cluster up in $(( $(date +%s) - started )) s"
python3 tests/cluster/cluster_test.py
