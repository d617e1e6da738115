#!/usr/bin/env bash
# Proves scripts/check-layers.sh can fail: run on tests/layers/violating (a workspace that breaks each
# rule once), it must exit non-zero and name every violation; run on the repository, it must pass.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r tests/layers/violating/. "$work/"
cp Cargo.lock "$work/Cargo.lock" # resolved offline from the same versions
if scripts/check-layers.sh "$work" >"$work/out" 2>&1; then
  cat "$work/out"; echo "test-layers: the violating fixture passed" >&2; exit 1
fi
missing=0
for expected in \
  "filmlog-domain must not depend on .*diesel" \
  "filmlog-domain must not depend on .*tokio" \
  "filmlog-persistence must not depend on .*actix-web" \
  "filmlog-persistence must not depend on .*utoipa" \
  "filmlog-app must not depend on .*actix-web" \
  "filmlog-app must not depend on .*utoipa" \
  "filmlog-jobs must not depend on .*actix-web" \
  "the server crate must not reach into the HTTP crate's handlers" \
  "import circle in crates/domain/src: a, b" \
  "import circle in crates/domain/src: c, d::e"; do
  grep -qE "$expected" "$work/out" || { echo "test-layers: not reported: $expected" >&2; missing=1; }
done
if [ "$missing" != 0 ]; then cat "$work/out" >&2; exit 1; fi
# A dependency graph cargo cannot resolve is a failure, never a pass: the same fixture with a crate
# no lock file has.
printf '\nno-such-crate-for-filmlog-layers = "1"\n' >>"$work/crates/domain/Cargo.toml"
if scripts/check-layers.sh "$work" >"$work/out" 2>&1; then
  cat "$work/out"; echo "test-layers: an unresolvable workspace passed" >&2; exit 1
fi
grep -q "cargo tree failed for filmlog-domain" "$work/out" ||
  { cat "$work/out" >&2; echo "test-layers: a cargo tree failure was not reported" >&2; exit 1; }
scripts/check-layers.sh
echo "test-layers: every violation of the fixture reported, an unresolvable one too; the repository passes"
