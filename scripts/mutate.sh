#!/usr/bin/env bash
# Mutation run (issue 27): each guarantee the strengthened tests claim is broken on purpose, one at
# a time, and the test that guards it must fail. A mutation whose test still passes is a defect of
# the suite, and this script exits 1.
#
#   scripts/mutate.sh rust      source edits (sed), each followed by the one test that guards it
#   scripts/mutate.sh chaos     `make chaos` once per CHAOS_MUTATE (tests/cluster/chaos_test.py)
#   scripts/mutate.sh cluster   `make cluster-test` once per CLUSTER_MUTATE (cluster_test.py)
#
# Source edits need the files they touch unchanged (the script refuses otherwise) and are undone
# with `git checkout` whatever happens. Not part of `.ci/run`: every mutation rebuilds.
set -uo pipefail
cd "$(dirname "$0")/.."
what=${1:-rust}
survived=()
log=$(mktemp)
touched=""
restore() { [ -n "$touched" ] && git checkout -q -- $touched; touched=""; }
trap 'restore; rm -f "$log"' EXIT

# judge <label> <what the failure must show (an extended regex)> <command…>: runs the command with
# the guarantee broken; it must fail, and for the expected reason.
judge() {
  local label=$1 expect=$2
  shift 2
  if "$@" >"$log" 2>&1; then
    echo "SURVIVED $label: it passed"
    survived+=("$label")
  elif grep -qE -- "$expect" "$log"; then
    echo "killed  $label: $(grep -m1 -oE -- ".*($expect).*" "$log" | cut -c1-200)"
  else
    echo "SURVIVED $label: it failed, but not on \"$expect\": $(grep -m1 -E 'error|panicked|^FAIL|Traceback' "$log")"
    survived+=("$label (other failure)")
  fi
}

# mutation <label> <file> <sed expression> <test filter> <text the failure must show>
mutation() {
  local label=$1 file=$2 expr=$3 filter=$4 expect=$5
  if ! git diff --quiet -- "$file"; then
    echo "mutate: $file has local changes; commit or stash them first" >&2
    exit 2
  fi
  touched=$file
  sed -i "$expr" "$file"
  if git diff --quiet -- "$file"; then
    echo "MISSED  $label: the edit did not apply to $file (update the script)"
    survived+=("$label (not applied)")
  else
    judge "$label" "$expect" scripts/dev.sh test -E "$filter"
  fi
  restore
}

# fault <make target> <VARIABLE> <mutation> <the FAIL line it must cause (an extended regex)>
fault() {
  judge "$1 $3" "^FAIL .*($4)" env "$2=$3" make -s "$1"
}

case $what in
  rust)
    cargo nextest --version >/dev/null 2>&1 || {
      echo "mutate: cargo-nextest is needed (each test in its own process)" >&2
      exit 2
    }
    mutation "the notifier ignores preferences" crates/persistence/src/notifications.rs \
      's/           AND NOT (r.kind = ANY (m.notifications_off)) \\/           \\/' \
      'test(mutes_blocks_and_preferences_keep_notifications_away)' 'panicked'
    mutation "an apostrophe splits a slug" crates/domain/src/film.rs \
      "s/} else if c != '\\\\'' {/} else {/" \
      'test(an_ascii_titles_slug_is_its_words_lowercased)' 'panicked'
    mutation "the domain's counter delta counts every entry as a review" crates/domain/src/relationship.rs \
      's/state.entries.iter().filter(|e| e.has_review).count()/state.entries.len()/' \
      'test(invariants_hold_over_random_sequences)' 'panicked'
    mutation "a deleted review leaves the film's review count" crates/persistence/sql/log_entries_review_count.sql \
      's/THEN delta := delta - 1;/THEN delta := delta - 0;/' \
      'test(a_random_storm_leaves_no_drift)' 'panicked'
    mutation "a like notifies twice" crates/api/src/ops/social.rs \
      's/^\(        notify::owner(conn, member, author, NotificationKind::ReviewLike, about).await?;\)$/\1\n\1/' \
      'test(hot_endpoints_issue_a_constant_number_of_queries)' 'a like:'
    mutation "popular reviews find their film by a filter, not the index" crates/persistence/src/log_entries.rs \
      's/            .filter(log_entries::film_id.eq($film.get()))/            .filter((log_entries::film_id + 0i64).eq($film.get()))/' \
      'test(hot_queries_use_their_indexes)' 'without an index condition|expected log_entries_popular'
    mutation "the import reader runs ahead of staging" crates/api/src/portability/import.rs \
      's/mpsc::channel(64)/mpsc::channel(1 << 20)/' \
      'test(a_hundred_thousand_row_file_is_streamed_and_repeats_are_skipped)' 'peak RSS grew'
    mutation "a stale worker's rehearsal is not fenced" crates/api/src/portability/import.rs \
      's/    fenced!(log, lease, |c| Ok(store::reset_decisions(c, job).await?))?;/    store::reset_decisions(\&mut log, job).await?;/' \
      'test(a_claim_lives_by_its_heartbeat_and_a_stale_worker_writes_nothing)' 'panicked'
    mutation "the CSV bound drops the byte after a closing quote" crates/api/src/portability/bounds.rs \
      's/Ok(self.state != before || line_break || self.cell <= self.max_cell + 1)/Ok(line_break || self.cell <= self.max_cell + 1)/' \
      'test(the_parser_reads_the_same_rows_with_long_cells_cut)' 'panicked'
    mutation "extractors answer their errors before the session check" crates/api/src/auth.rs \
      's/            let _ = settled.await;/            drop(settled);/' \
      'test(every_operation_needs_a_token_exactly_when_the_spec_says_so)' 'with an ended session'
    ;;
  chaos)
    fault chaos CHAOS_MUTATE late_load "writes acknowledged before the kill"
    fault chaos CHAOS_MUTATE quiet "in the last 0.5 s before it"
    fault chaos CHAOS_MUTATE lose_wal "acknowledged writes lost"
    fault chaos CHAOS_MUTATE stall_api "requests without an answer"
    fault chaos CHAOS_MUTATE slow_start "writes acknowledged again within"
    ;;
  cluster)
    fault cluster-test CLUSTER_MUTATE no_standby_reads "reads served by the standby \\(at least"
    fault cluster-test CLUSTER_MUTATE ignore_position "replay paused, a read with"
    fault cluster-test CLUSTER_MUTATE keep_a1 "a1 is gone"
    fault cluster-test CLUSTER_MUTATE early_kill "acknowledged before the kill"
    fault cluster-test CLUSTER_MUTATE async_commit "acknowledged writes lost"
    fault cluster-test CLUSTER_MUTATE slow_demote "failover: .*within 25 s"
    ;;
  *)
    sed -n '2,12p' "$0" >&2
    exit 2
    ;;
esac
if [ ${#survived[@]} -gt 0 ]; then
  printf 'mutations the tests did not catch: %s\n' "${survived[*]}" >&2
  exit 1
fi
echo "every mutation was caught"
