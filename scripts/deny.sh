#!/usr/bin/env bash
# `make deny`: cargo-deny's advisories (from the offline RustSec snapshot in ../shared/advisory-db, or
# $FILMLOG_ADVISORY_DB), licences, duplicate versions and sources, as configured in deny.toml.
# Installs cargo-deny (cargo install --locked) when it is missing.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if ! cargo deny --version >/dev/null 2>&1; then
  echo "deny: installing cargo-deny (once; a few minutes)" >&2
  cargo install cargo-deny --locked --quiet
fi
# The snapshot sits beside the checkout (../shared); a clone made elsewhere from that checkout (as CI
# makes one) finds it beside the checkout it was cloned from.
origin=$(git -C "$root" remote get-url origin 2>/dev/null || true)
snapshot=${FILMLOG_ADVISORY_DB:-}
for candidate in "$root/../shared/advisory-db" "${origin:+$origin/../shared/advisory-db}"; do
  [ -z "$snapshot" ] && [ -n "$candidate" ] && [ -d "$candidate/crates" ] && snapshot=$candidate
done
[ -n "$snapshot" ] && [ -d "$snapshot/crates" ] || {
  echo "deny: no advisory database snapshot beside this checkout or its origin; set FILMLOG_ADVISORY_DB" >&2
  exit 1
}
# cargo-deny reads the database only as a git repository in a folder named after its URL.
db=$root/target/advisory-dbs/advisory-db-3157b0e258782691
rm -rf "$db" && mkdir -p "$db" && cp -r "$snapshot/." "$db"
git -C "$db" init -q
git -C "$db" add -A
git -C "$db" -c user.name=snapshot -c user.email=snapshot@localhost commit -qm snapshot
# cargo-deny --offline reads the manifests of every crate in Cargo.lock, whatever the platform.
cargo fetch --locked --quiet
exec cargo deny --offline check "$@"
