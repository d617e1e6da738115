#!/usr/bin/env bash
# The dependency direction is server → api → persistence → domain. Fails when a lower crate depends
# (directly or not) on a framework it must not know.
set -euo pipefail
fail=0
check() {
  local crate=$1 dep=$2
  if cargo tree -p "$crate" -e normal -i "$dep" --offline >/dev/null 2>&1; then
    echo "layering: $crate must not depend on $dep" >&2
    cargo tree -p "$crate" -e normal -i "$dep" --offline 2>/dev/null | head -5 >&2
    fail=1
  fi
}
for dep in diesel diesel-async actix-web utoipa; do check filmlog-domain "$dep"; done
for dep in actix-web utoipa; do check filmlog-persistence "$dep"; done
[ "$fail" = 0 ] && echo "layering: domain has no diesel/actix-web/utoipa; persistence has no actix-web/utoipa"
exit "$fail"
