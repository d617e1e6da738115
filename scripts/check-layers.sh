#!/usr/bin/env bash
# The crates' layering, checked from what the code and `cargo tree` say:
#
#   server → api (HTTP) → app (use cases) → persistence → domain
#                 ↘ jobs ↗
#
# - the domain knows no database, HTTP or OpenAPI crate; persistence no HTTP or OpenAPI crate;
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
check() {
  local crate=$1 dep=$2
  member "$crate" || { echo "layering: no crate $crate" >&2; fail=1; return; }
  # Prints the path to `dep` over normal (not dev or build) edges; nothing when there is none.
  local path
  path=$(cargo tree -p "$crate" -e normal -i "$dep" --offline 2>/dev/null || true)
  if [ -n "$path" ]; then
    echo "layering: $crate must not depend on $dep" >&2
    printf '%s\n' "$path" | head -5 >&2
    fail=1
  fi
}
for dep in diesel diesel-async actix-web actix-http utoipa; do check filmlog-domain "$dep"; done
for dep in actix-web actix-http utoipa; do check filmlog-persistence "$dep"; done
for dep in actix-web actix-http actix-server actix-multipart utoipa-actix-web; do
  check filmlog-app "$dep"
  check filmlog-jobs "$dep"
done
if grep -rnE 'filmlog_api::handlers' crates/server/src >&2; then
  echo "layering: the server crate must not reach into the HTTP crate's handlers" >&2
  fail=1
fi
for src in crates/*/src; do
  python3 "$scripts/module_cycles.py" "$src" >&2 || fail=1
done
[ "$fail" = 0 ] && echo "layering: domain, persistence, app and jobs free of the frameworks above them; server outside the handlers; no import circles"
exit "$fail"
