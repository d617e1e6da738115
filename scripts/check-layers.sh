#!/usr/bin/env bash
# The crates' layering, checked from what the code and `cargo tree` say:
#
#   server → api (HTTP) → app (use cases) → persistence → domain
#                 ↘ jobs ↗
#
# - the domain knows no database, runtime, HTTP or OpenAPI crate (no diesel, tokio, actix, utoipa);
#   persistence no HTTP or OpenAPI crate;
# - the application and jobs crates never depend on actix (not even indirectly);
# - the server crate never reaches into the HTTP crate's handlers;
# - no import circles between the files of any crate (scripts/module_cycles.py).
#
# Usage: check-layers.sh [WORKSPACE_ROOT]   (the repository by default; scripts/test-layers.sh runs it on
# a fixture that breaks every rule, to prove each check fails)
set -euo pipefail
root=$(cd "${1:-$(dirname "$0")/..}" && pwd)
scripts=$(cd "$(dirname "$0")" && pwd)
cd "$root"
fail=0
members=$(cargo metadata --offline --no-deps --format-version 1 |
  python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"]))')
member() { printf '%s\n' "$members" | grep -qx "$1"; }
# The crates `crate` depends on over normal (not dev or build) edges, with every feature on (so an
# optional dependency counts), one name per line; exits non-zero when cargo tree fails.
deps() {
  cargo tree -p "$1" -e normal --all-features --prefix none --format '{p}' --offline |
    awk '{print $1}' | sort -u
}
# Fails when `crate` depends (directly or not) on a crate whose name matches `pattern`.
forbid() {
  local crate=$1 pattern=$2 all found
  member "$crate" || { echo "layering: no crate $crate" >&2; fail=1; return; }
  if ! all=$(deps "$crate"); then
    echo "layering: cargo tree failed for $crate" >&2
    fail=1
    return
  fi
  found=$(printf '%s\n' "$all" | grep -E "^($pattern)\$" || true)
  if [ -n "$found" ]; then
    echo "layering: $crate must not depend on $(echo $found | tr ' ' ',')" >&2
    fail=1
  fi
}
forbid filmlog-domain 'diesel.*|actix.*|utoipa.*|tokio.*'
forbid filmlog-persistence 'actix.*|utoipa.*'
# The jobs crate keeps the export document's schema derive (utoipa, no actix): the archive format
# is part of the API contract and is written by the job.
forbid filmlog-app 'actix.*|utoipa.*'
forbid filmlog-jobs 'actix.*|utoipa-actix-web|utoipa-swagger-ui'
# grep: 0 a match, 1 none, anything else a folder it could not read (a failure too).
rc=0
grep -rnwE 'handlers' crates/server/src >&2 || rc=$?
case $rc in
  0) echo "layering: the server crate must not reach into the HTTP crate's handlers" >&2; fail=1 ;;
  1) ;;
  *) echo "layering: could not read crates/server/src" >&2; fail=1 ;;
esac
for src in crates/*/src; do
  python3 "$scripts/module_cycles.py" "$src" >&2 || fail=1
done
[ "$fail" = 0 ] && echo "layering: domain, persistence, app and jobs free of the frameworks above them; server outside the handlers; no import circles"
exit "$fail"
