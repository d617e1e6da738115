#!/usr/bin/env python3
"""`make bench-ab BASE=<rev>`: every scenario on this build (HEAD) and on a pinned release (BASE), in
one run, interleaved pair by pair, so that a cost the schema itself added (which an SQL twin carries
too, and so cannot see) shows as a ratio HEAD/BASE.

Each side serves a fresh copy of its own data set, made once by its own migrations and its own generator (same profile,
same seed: the same members, films, follows, entries and likes; HEAD's has the lists BASE lacks).
The requests are built the same way from each side's data. Both servers run through the whole
bench with the same settings; each run of a scenario measures one of them while the other idles,
BASE first in odd pairs and HEAD first in even ones, and the report takes medians. No webhook
endpoints on either side (BASE has none to configure): the write path measured is the members'.
"""
import argparse, datetime, json, os, platform, random, statistics, subprocess, sys, time, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import (WORK, ROOT, Server, free_port, psql, quiesce, request, run_wrk, sh, start_perf,  # noqa: E402
                 stop_perf, write)

# Item 2 of issue 29: HEAD/BASE throughput in one A/B run on `medium`.
RATIO_TARGETS = {"log_film": 0.80, "like_review": 0.90, "popular_reviews": 0.90, "mixed": 0.85}
READS = ("film_page", "popular_reviews", "feed_100_page1", "feed_100_later", "feed_1000_page1",
         "feed_1000_later", "search_contains", "search_prefix", "feed_random_member")
READ_TARGET = 0.90
# Item 3: the feeds at half a film page's throughput or better, p99 within 10 ms (HEAD, same run).
FEEDS = ("feed_100_page1", "feed_100_later", "feed_1000_page1", "feed_1000_later")
FEED_SHARE_TARGET = 0.50
FEED_P99_MS = 10.0
ORDER = ["film_page", "popular_reviews", "feed_100_page1", "feed_100_later", "feed_1000_page1", "feed_1000_later",
         "search_contains", "search_prefix", "feed_random_member", "like_review", "log_film", "mixed"]


class Side:
    """One version: its binaries, its database, its server and the requests built from its data."""

    def __init__(self, name, bin_path, gen_cmd, tokens_cmd, db_url):
        self.name, self.bin, self.gen_cmd, self.tokens_cmd, self.db_url = name, bin_path, gen_cmd, tokens_cmd, db_url
        self.server, self.requests = None, {}

    def q(self, sql):
        return psql(self.db_url, sql)


def prepare_database(server_url, side, profile, marker_prefix):
    """The side's database for this run: a copy of its pristine data set (a template generated once by
    the side's own generator and migrations), so that every run starts from the same data, never
    from what earlier runs wrote or left for vacuum."""
    admin = f"{server_url}/postgres"
    name = side.db_url.rsplit("/", 1)[1]
    template = f"{name}_tpl"
    tpl_url = f"{server_url}/{template}"
    marker = psql(admin, f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{template}'")
    env = dict(os.environ, DATABASE_URL=tpl_url)
    if not (marker.startswith(marker_prefix) and marker.endswith("complete")):
        print(f"{side.name}: generating the {profile} data set (one time)...", flush=True)
        psql(admin, f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
        psql(admin, f"CREATE DATABASE {template}")
        started = time.time()
        subprocess.run(side.gen_cmd + ["--profile", profile], check=True, env=env)
        print(f"{side.name}: generated in {time.time() - started:.0f}s", flush=True)
    # Migrations the side has that the template lacks (a template made before them), then a copy.
    subprocess.run([side.bin, "migrate"], check=True, env=env, stdout=subprocess.DEVNULL)
    psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(admin, f"CREATE DATABASE {name} TEMPLATE {template}")
    # The data set's marker goes with it (a database's comment is not copied; bench-tokens reads it).
    marker = psql(admin, f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{template}'")
    psql(admin, f"COMMENT ON DATABASE {name} IS '{marker}'")


def server_env(side, workers, pool):
    side.metrics_port = free_port()
    return dict(os.environ, DATABASE_URL=side.db_url, FILMLOG_JWT_SECRET=os.urandom(48).hex(),
                FILMLOG_METRICS_ADDR=f"127.0.0.1:{side.metrics_port}",
                FILMLOG_ACCESS_TTL_SECS="86400", PORT=str(free_port()), RUST_LOG="warn",
                FILMLOG_WORKERS=str(workers), FILMLOG_DB_POOL_SIZE=str(pool),
                # Settings only HEAD knows (BASE ignores them): no popularity recomputation and no
                # webhook delivery inside the measured runs, rate budgets nobody exhausts.
                FILMLOG_POPULARITY_INTERVAL_SECS="0", FILMLOG_WEBHOOK_WORKERS="0",
                **{f"FILMLOG_RATE_{c}_PER_{s}": "1000000000/60"
                   for c in ("READ", "SEARCH", "WRITE") for s in ("IP", "MEMBER")},
                FILMLOG_RATE_AUTH_PER_IP="1000000000/60", FILMLOG_RATE_REGISTER_PER_IP="1000000000/60")


def build_requests(side, seed):
    """The scenarios' request files, from the side's own data, drawn with the same seed on both."""
    rng = random.Random(seed)
    tokens = sh(*side.tokens_cmd, "2000", env=side.env).split()
    tok = lambda m: tokens[m - 1]
    all_tokens = write(f"{WORK}/ab-{side.name}-tokens-all", "\n".join(tokens) + "\n")
    one = lambda m: write(f"{WORK}/ab-{side.name}-tokens-{m}", tok(m) + "\n")
    q = side.q
    popular = q("SELECT f.slug FROM films f JOIN film_stats s ON s.film_id = f.id ORDER BY s.watch_count DESC, f.id LIMIT 1")
    reviewed = q("SELECT f.slug FROM films f JOIN film_stats s ON s.film_id = f.id ORDER BY s.review_count DESC, f.id LIMIT 1")
    gen_first, gen_last = map(int, q("SELECT min(id), max(id) FROM films WHERE slug LIKE 'gen-%'").split("|"))
    # Reviews by members without a bench token (ids above 2000): nobody likes their own review.
    review_ids = q("SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM log_entries "
                   "WHERE review_text IS NOT NULL AND member_id > 2000 ORDER BY id LIMIT 1000) t").split(",")

    def cursor_for(member, pages):
        c = None
        for _ in range(pages):
            _, body = request(side.server.port, "GET", "/api/v1/me/feed" + (f"?cursor={c}" if c else ""), tok(member))
            c = body["next_cursor"]
        return c

    later = {m: cursor_for(m, 5) for m in (1, 2)}
    review_text = "A long and patient film; " * 16
    body = json.dumps({"film": "FILM", "watched_on": "2026-11-01", "rating": 4.0, "review": {"text": review_text}})
    offsets = [rng.randint(0, gen_last - gen_first) for _ in range(300)]
    slugs = q("SELECT string_agg(slug, ',' ORDER BY o.n) FROM unnest(ARRAY[%s]::bigint[]) WITH ORDINALITY AS o(id, n) "
              "JOIN films f ON f.id = o.id" % ",".join(str(gen_first + o) for o in offsets)).split(",")
    scenarios = {
        "film_page": ([f"GET\t/api/v1/films/{popular}\t"], None),
        "popular_reviews": ([f"GET\t/api/v1/films/{reviewed}/reviews\t"], None),
        "feed_1000_page1": (["GET\t/api/v1/me/feed\t"], 1),
        "feed_1000_later": ([f"GET\t/api/v1/me/feed?cursor={later[1]}\t"], 1),
        "feed_100_page1": (["GET\t/api/v1/me/feed\t"], 2),
        "feed_100_later": ([f"GET\t/api/v1/me/feed?cursor={later[2]}\t"], 2),
        "search_contains": (["GET\t/api/v1/films?q=arbo\t"], None),
        "search_prefix": (["GET\t/api/v1/films?q=heav\t"], None),
        "feed_random_member": (["GET\t/api/v1/me/feed\t"], None),
        "like_review": ([f"PUT\t/api/v1/log-entries/{e}/like\t" for e in review_ids], None),
        "log_film": ([f"POST\t/api/v1/log-entries\t{body.replace('FILM', s)}" for s in slugs], None),
    }
    for name, (lines, member) in scenarios.items():
        side.requests[name] = (write(f"{WORK}/ab-{side.name}-{name}.req", "\n".join(lines) + "\n"),
                               one(member) if member else all_tokens)
    mix = {"film_page": 30, "popular_reviews": 15, "feed_random_member": 25, "search_prefix": 15, "like_review": 10,
           "log_film": 5}
    mixed = []
    for name, weight in mix.items():
        lines = open(side.requests[name][0]).read().splitlines()
        mixed += [rng.choice(lines) for _ in range(weight * 20)]
    side.requests["mixed"] = (write(f"{WORK}/ab-{side.name}-mixed.req", "\n".join(mixed) + "\n"), all_tokens)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-url", required=True, help="postgres://… of the cluster, no database")
    ap.add_argument("--base-rev", required=True)
    ap.add_argument("--base-bin", required=True, help="BASE's release `filmlog`")
    ap.add_argument("--base-dev-bin", default="", help="BASE's `filmlog-dev`, when gen-data lives there")
    target = os.environ.get("CARGO_TARGET_DIR", f"{ROOT}/target")
    ap.add_argument("--head-bin", default=f"{target}/release/filmlog")
    ap.add_argument("--profile", default="medium")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--pool", type=int, default=0)
    ap.add_argument("--only", default="")
    ap.add_argument("--statements", action="store_true",
                    help="per-request statement profile of each side from pg_stat_statements (the cluster must "
                         "preload it, with track = all and track_planning = on), over one extra, uncounted run")
    ap.add_argument("--perf", action="store_true",
                    help="profile the machine (perf record -a) during one extra, uncounted run of each side")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    pool = args.pool or 2 * (os.cpu_count() or 1)
    head_dev = os.path.join(os.path.dirname(args.head_bin), "filmlog-dev")
    base_dev = args.base_dev_bin
    base_gen = [base_dev, "gen-data"] if base_dev else [args.base_bin, "gen-data"]
    base_tokens = [base_dev, "bench-tokens"] if base_dev else [args.base_bin, "bench-tokens"]
    rev = sh("git", "-C", ROOT, "rev-parse", "--short=7", args.base_rev).strip()
    sides = [
        Side("base", args.base_bin, base_gen, base_tokens, f"{args.server_url}/filmlog_ab_{rev}_{args.profile}"),
        Side("head", args.head_bin, [head_dev, "gen-data"], [head_dev, "bench-tokens"],
             f"{args.server_url}/filmlog_ab_head_{args.profile}"),
    ]
    for side in sides:
        prepare_database(args.server_url, side, args.profile, f"filmlog gen-data {args.profile} v")
        side.env = server_env(side, args.workers, pool)
        side.server = Server(side.bin, side.env)
        side.server.start()
    try:
        for side in sides:
            build_requests(side, seed=29)
        names = [n for n in ORDER if not args.only or n in args.only.split(",")]
        primed = {}
        if {"feed_random_member", "mixed"} & set(names):
            primed = {side.name: first_reads(side) for side in sides}
        results = {}
        for name in names:
            runs = {"base": [], "head": []}
            for side in sides:
                quiesce(side.db_url)
                # Warm-up, not recorded: the pool's connections open and prepare this scenario's statements.
                run_wrk(side.server.port, *side.requests[name], args.concurrency, 2)
            lag = {}
            for i in range(args.pairs):
                for side in (sides if i % 2 == 0 else sides[::-1]):
                    quiesce(side.db_url)
                    file, tokens = side.requests[name]
                    before = lag_buckets(side)
                    runs[side.name].append(run_wrk(side.server.port, file, tokens, args.concurrency, args.duration))
                    if before:
                        drain_feed(side)
                    after = lag_buckets(side)
                    if before and after:
                        for le, n in after.items():
                            lag.setdefault(side.name, {}).setdefault(le, 0)
                            lag[side.name][le] += n - before.get(le, 0)
            profiles = {}
            if args.statements:
                for side in sides:
                    entry_stats = statement_profile(side, name, args)
                    profiles.setdefault("statements", {})[side.name] = entry_stats
            if args.perf:
                for side in sides:
                    data = f"{WORK}/ab-perf-{side.name}-{name}.data"
                    profiler = start_perf(data)
                    run_wrk(side.server.port, *side.requests[name], args.concurrency, args.duration)
                    profiles.setdefault("perf", {})[side.name] = stop_perf(profiler, data)
            med = lambda s, k: statistics.median(r[k] for r in runs[s])
            entry = {s: {k: med(s, k) for k in ("rps", "p50_ms", "p99_ms")} for s in runs}
            entry["errors"] = {s: sum(r["errors"] for r in runs[s]) for s in runs}
            entry["ratio"] = entry["head"]["rps"] / entry["base"]["rps"] if entry["base"]["rps"] else 0.0
            entry["runs"] = runs
            if "head" in lag and lag_p99({}, lag["head"]):
                bound, items = lag_p99({}, lag["head"])
                entry["fanout_lag"] = {"p99_le_s": bound, "items": items}
            if profiles:
                entry["profiles"] = profiles
            results[name] = entry
            print(f"{name:20} head {entry['head']['rps']:8.0f}/s p99 {entry['head']['p99_ms']:6.2f} | "
                  f"base {entry['base']['rps']:8.0f}/s p99 {entry['base']['p99_ms']:6.2f} | "
                  f"HEAD/BASE {entry['ratio']:.2f}"
                  + (f" errors {entry['errors']}" if any(entry["errors"].values()) else ""), flush=True)
    finally:
        for side in sides:
            side.server.stop()
    stamp = datetime.datetime.now(datetime.timezone.utc)
    out = {"scenarios": results, "meta": {
        "date": stamp.isoformat(timespec="seconds"),
        "head": sh("git", "-C", ROOT, "rev-parse", "HEAD").strip(), "base": args.base_rev,
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release()},
        "postgres": psql(f"{args.server_url}/postgres", "SHOW server_version"),
        "profile": args.profile, "pairs": args.pairs, "duration_s": args.duration,
        "concurrency": args.concurrency, "server_workers": args.workers, "server_pool": pool,
        "first_reads": primed}}
    day = stamp.strftime("%Y-%m-%d")
    path = os.path.join(ROOT, "bench", "results", f"{day}-ab")
    write(path + ".json", json.dumps(out, indent=2) + "\n")
    write(path + ".md", report(out, day))
    print(f"wrote bench/results/{day}-ab.json, .md")


def statement_profile(side, name, args):
    """What one run of `name` costs the side's database per request: statements executed (nested ones,
    in triggers and functions, included), plans made, execution and planning time, rows written to
    the WAL, and the statements that cost most."""
    side.q("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    side.q("SELECT pg_stat_statements_reset()")
    wal0 = int(side.q("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn"))
    r = run_wrk(side.server.port, *side.requests[name], args.concurrency, args.duration)
    wal = int(side.q("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")) - wal0
    n = max(1, r["requests"])
    db = side.db_url.rsplit("/", 1)[1]
    rows = side.q(
        "SELECT coalesce(json_agg(t ORDER BY t.total DESC), '[]') FROM ("
        "SELECT left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160) AS query, s.toplevel, s.calls, s.plans, "
        "round((s.total_exec_time + s.total_plan_time)::numeric, 1) AS total, "
        "round(s.total_plan_time::numeric, 1) AS plan_ms FROM pg_stat_statements s "
        f"JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{db}') t")
    stats = json.loads(rows)
    top = [s for s in stats if s["toplevel"]]
    out = {
        "requests": n,
        "statements_per_request": sum(s["calls"] for s in top) / n,
        "nested_per_request": sum(s["calls"] for s in stats if not s["toplevel"]) / n,
        "plans_per_request": sum(s["plans"] for s in stats) / n,
        "exec_plan_ms_per_request": sum(s["total"] for s in top) / n,
        "plan_ms_per_request": sum(s["plan_ms"] for s in stats) / n,
        "wal_bytes_per_request": wal / n,
        "costliest": stats[:8],
    }
    print(f"  {side.name}: {out['statements_per_request']:.1f} statements (+{out['nested_per_request']:.1f} nested), "
          f"{out['plans_per_request']:.2f} plans, {out['exec_plan_ms_per_request']:.3f} ms in the database "
          f"({out['plan_ms_per_request']:.3f} planning), {out['wal_bytes_per_request']:.0f} WAL bytes per request",
          flush=True)
    return out


LAG_METRIC = "filmlog_feed_fanout_lag_seconds_bucket"
LAG_P99_TARGET_S = 1.0


def lag_buckets(side):
    """The home feed's fan-out lag histogram as the side's server counts it: {upper bound: count}, or None
    when the side has no such metric (a release before the materialised feed)."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{side.metrics_port}/metrics", timeout=5).read().decode()
    except Exception:
        return None
    out = {}
    for line in text.splitlines():
        if line.startswith(LAG_METRIC + "{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return out or None


def first_reads(side, limit_s=300):
    """Every bench member reads their feed once (8 at a time), then the timelines those reads requested are
    built: the steady state of members who open their feed daily, which `feed_random_member` and `mixed`
    measure. (From a fresh database each of 2,000 members' first read requests a timeline, and a 10 s run
    would measure the worker building them; the first reads are timed here instead and reported.) Done
    once, before the first scenario: every later one, writes included, runs with those timelines (and
    their fan-out). Answers the seconds the reads took and, on a side with home timelines, the seconds
    from the first read until all were requested and built."""
    from concurrent.futures import ThreadPoolExecutor
    tokens = open(side.requests["feed_random_member"][1]).read().split()
    t0 = time.time()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda t: request(side.server.port, "GET", "/api/v1/me/feed", t), tokens))
    reads = time.time() - t0
    out = {"members": len(tokens), "reads_s": round(reads, 2)}
    if side.q("SELECT to_regclass('home_timelines') IS NOT NULL") == "t":
        # (A read requests its timeline just after its response: all requested, then all built.)
        requested = lambda: int(side.q("SELECT count(*) FROM home_timelines") or 0)
        unbuilt = lambda: int(side.q("SELECT count(*) FROM home_timelines WHERE built_at IS NULL") or 0)
        wait_until(lambda: requested() >= len(tokens) and not unbuilt(), limit_s, 0.1)
        out["built_s"] = round(time.time() - t0, 2)
        out["unbuilt"] = unbuilt()
        out["timelines"] = int(side.q("SELECT count(*) FROM home_timelines WHERE built_at IS NOT NULL"))
    print(f"  {side.name}: first reads of {out['members']} members {out['reads_s']} s"
          + (f", their timelines built {out['built_s']} s after the first ({out['unbuilt']} unbuilt)"
             if "built_s" in out else ""), flush=True)
    return out


def wait_until(done, limit_s, step):
    """Polls `done()` every `step` seconds until it holds, `limit_s` at most."""
    deadline = time.time() + limit_s
    while not done() and time.time() < deadline:
        time.sleep(step)


def drain_feed(side, limit_s=30):
    """Waits until the side's fan-out queue is empty (its slowest items counted too), `limit_s` at most."""
    wait_until(lambda: side.q("SELECT count(*) FROM feed_work") in ("0", ""), limit_s, 0.05)


def lag_p99(before, after):
    """The bucket bound holding the 99th percentile of what was counted between two scrapes, and the count."""
    if before is None or not after:
        return None
    delta = sorted((le, after[le] - before.get(le, 0)) for le in after)
    total = delta[-1][1]
    if total <= 0:
        return None
    return next(le for le, n in delta if n >= 0.99 * total), int(total)


def verdict(ok):
    return "met" if ok else "MISSED"


def report(out, day):
    sc, meta = out["scenarios"], out["meta"]
    lines = [f"# A/B benchmark {day}: HEAD against {meta['base']}", "",
             f"HEAD {meta['head'][:12]} against BASE {meta['base']}, {meta['machine']['cpus']} cores, PostgreSQL "
             f"{meta['postgres']}, data `{meta['profile']}` (each side's own migrations and generator, same seed), "
             f"concurrency {meta['concurrency']}, {meta['duration_s']} s per run, median of {meta['pairs']} "
             f"interleaved HEAD/BASE pairs, server workers {meta['server_workers']}, pool {meta['server_pool']}; "
             "no webhook endpoints on either side.", "",
             "| scenario | HEAD req/s | HEAD p50 ms | HEAD p99 ms | BASE req/s | BASE p50 ms | BASE p99 ms | HEAD/BASE | target |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    film = sc.get("film_page", {}).get("head", {}).get("rps")
    for n, e in sc.items():
        targets = []
        t = RATIO_TARGETS.get(n, READ_TARGET if n in READS else None)
        if t is not None:
            targets.append(f"≥ {t:.2f} {verdict(e['ratio'] >= t)}")
        if n in FEEDS and film:
            share = e["head"]["rps"] / film
            targets.append(f"{share:.0%} of film_page (≥ {FEED_SHARE_TARGET:.0%}) {verdict(share >= FEED_SHARE_TARGET)}")
            targets.append(f"p99 ≤ {FEED_P99_MS:.0f} ms {verdict(e['head']['p99_ms'] <= FEED_P99_MS)}")
        h, b = e["head"], e["base"]
        lines.append(f"| {n} | {h['rps']:.0f} | {h['p50_ms']:.2f} | {h['p99_ms']:.2f} | {b['rps']:.0f} | "
                     f"{b['p50_ms']:.2f} | {b['p99_ms']:.2f} | {e['ratio']:.2f} | {'; '.join(targets)} |")
    stmts = {n: e["profiles"]["statements"] for n, e in sc.items() if e.get("profiles", {}).get("statements")}
    if stmts:
        lines += ["", "## Statements per request", "",
                  "From pg_stat_statements (track = all, track_planning = on) over one extra, uncounted run of each side.",
                  "", "| scenario | side | statements | nested | plans | DB ms | planning ms | WAL bytes |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for n, by_side in stmts.items():
            for side, st in by_side.items():
                lines.append(f"| {n} | {side.upper()} | {st['statements_per_request']:.1f} | {st['nested_per_request']:.1f} | "
                             f"{st['plans_per_request']:.2f} | {st['exec_plan_ms_per_request']:.3f} | "
                             f"{st['plan_ms_per_request']:.3f} | {st['wal_bytes_per_request']:.0f} |")
    profiled = {n: e["profiles"]["perf"] for n, e in sc.items() if e.get("profiles", {}).get("perf")}
    if profiled:
        lines += ["", "## Profiles", "",
                  "`perf record -a -g -e cpu-clock` over one extra, uncounted run of each side: the share of all "
                  "samples per process, then the hottest symbols (self time).", ""]
        for n, sides in profiled.items():
            for side, prof in sides.items():
                procs = ", ".join(f"{k} {v:.0f} %" for k, v in prof["by_process"][:4])
                syms = ", ".join(f"`{k.split(' ', 2)[-1]}` {v:.1f} %" for k, v in prof["by_symbol"][:8])
                lines.append(f"- **{n}**, {side.upper()}: {procs}. Hottest: {syms}.")
    primed = meta.get("first_reads") or {}
    if primed:
        lines += ["", "## First reads", "",
                  "Once, before the first scenario (because `feed_random_member` or `mixed` is in the run), every bench member "
                  "read their feed once and the side waited for the home timelines those reads requested to be built: "
                  "`feed_random_member` and `mixed` measure the steady state of members who open their feed daily, and "
                  "every scenario after it, writes included, runs with 2,000 built timelines (and fans out to them). "
                  "A first read answers from the followees, as BASE does, and requests the member's timeline, which the "
                  "feed worker builds in the background. Reports before cfaad07 measured `feed_random_member` and "
                  "`mixed` from a fresh database, building the timelines during the runs: not comparable.", "",
                  "| side | members | their reads, 8 at a time | all requested and built, from the first read |",
                  "|---|---:|---:|---:|"]
        for side, p in primed.items():
            built = (f"{p['built_s']:.1f} s ± 0.1 ({p['timelines']} timelines"
                     + (f", **{p['unbuilt']} still unbuilt**" if p["unbuilt"] else "") + ")") if "built_s" in p else "—"
            lines.append(f"| {side.upper()} | {p['members']} | {p['reads_s']:.1f} s | {built} |")
        if "head" in primed and "base" in primed and primed["head"]["reads_s"]:
            lines += ["", f"First reads HEAD/BASE (by time): {primed['base']['reads_s'] / primed['head']['reads_s']:.2f} "
                      "(no target: a first read also requests the timeline, a write on the primary)."]
    lags = {n: e["fanout_lag"] for n, e in sc.items() if e.get("fanout_lag")}
    if lags:
        lines += ["", "## Home feed fan-out lag", "",
                  "From an activity's queueing (in its writing transaction) to the commit of its fan-out into the "
                  "home timelines, as HEAD's `filmlog_feed_fanout_lag_seconds` histogram counted it during the "
                  "measured runs (p99 as the bound of its bucket).", "",
                  "| scenario | items fanned out | p99 | target |", "|---|---:|---:|---|"]
        for n, l in lags.items():
            target = f"≤ {LAG_P99_TARGET_S:.0f} s {verdict(l['p99_le_s'] <= LAG_P99_TARGET_S)}" if n == "mixed" else ""
            lines.append(f"| {n} | {l['items']} | ≤ {l['p99_le_s']:g} s | {target} |")
    errors = {n: e["errors"] for n, e in sc.items() if any(e["errors"].values())}
    if errors:
        lines += ["", "Errors (non-2xx or failed requests): " + ", ".join(f"{n} {v}" for n, v in errors.items())]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
