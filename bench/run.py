#!/usr/bin/env python3
"""`make bench`: every hot endpoint against its SQL twin, same run, same concurrency.

For each scenario the SQL twin is a pgbench script of exactly the statements the endpoint issues,
captured from PostgreSQL's statement log while the API serves one representative request (values of
the member and entry become pgbench variables); the API side is wrk with many members' tokens.
Scenarios alternate twin/API, `--pairs` times; the report takes medians.
"""
import argparse, csv, datetime, io, json, os, platform, random, re, shutil, signal, socket, statistics, subprocess, sys, time, zipfile
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = "/tmp/filmlog-bench"


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout


def psql(url, sql):
    return sh("psql", url, "-qAtX", "-v", "ON_ERROR_STOP=1", "-c", sql).strip()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, binary, env):
        self.binary, self.env, self.proc = binary, env, None
        self.port = int(env["PORT"])

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=open(f"{WORK}/server.log", "a"))
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/ready", timeout=1)
                return
            except Exception:
                time.sleep(0.1)
        raise SystemExit("the API server did not become ready")

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
            self.proc = None

    def cpu_seconds(self):
        fields = open(f"/proc/{self.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def reset_peak_rss(self):
        with open(f"/proc/{self.proc.pid}/clear_refs", "w") as f:
            f.write("5")

    def peak_rss_mib(self):
        for line in open(f"/proc/{self.proc.pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


def request(port, method, path, token, body=None, headers=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                 data=body.encode() if body else None)
    req.add_header("Authorization", f"Bearer {token}")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    if body:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as res:
        text = res.read().decode()
        return res.status, (json.loads(text) if text else None)


RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \w+ \[\d+\] ")


def log_records(text):
    records = []
    for line in text.splitlines():
        if RECORD.match(line):
            records.append(RECORD.sub("", line, count=1))
        elif records:
            records[-1] += "\n" + line.lstrip("\t")
    return records


def captured_statements(records):
    """Statements in execution order, their parameters substituted as literals."""
    out = []
    for i, rec in enumerate(records):
        m = re.match(r"LOG:\s+duration: [\d.]+ ms\s+(execute [^:]+|statement): (.*)", rec, re.S)
        if not m:
            continue
        sql = m.group(2)
        params = {}
        if i + 1 < len(records) and records[i + 1].startswith("DETAIL:  parameters:"):
            for name, value in re.findall(r"\$(\d+) = ('(?:[^']|'')*'|NULL)", records[i + 1]):
                params[int(name)] = value
        sql = re.sub(r"\$(\d+)\b", lambda g: params.get(int(g.group(1)), g.group(0)), sql)
        out.append(sql)
    return out


def one_line(sql):
    lines = [re.sub(r"--.*$", "", l) for l in sql.splitlines()]
    return " ".join(l.strip() for l in lines if l.strip())


def pgbench_script(statements, variables):
    head = "".join(f"\\set {name} {expr}\n" for name, (_, expr) in variables.items())
    body = []
    for sql in statements:
        for name, (literal, _) in variables.items():
            sql = sql.replace(f"'{literal}'", f":{name}")
        body.append(one_line(sql) + ";")
    return head + "\n".join(body) + "\n"


def run_pgbench(db_url, scripts, concurrency, duration, tag):
    prefix = f"{WORK}/pgbench-{tag}"
    for old in os.listdir(WORK):
        if old.startswith(f"pgbench-{tag}"):
            os.remove(os.path.join(WORK, old))
    args = ["pgbench", "-n", "-M", "prepared", "-c", str(concurrency), "-j", "2", "-T", str(duration),
            "--log", f"--log-prefix={prefix}"]
    for path, weight in scripts:
        args += ["-f", f"{path}@{weight}"]
    out = subprocess.run(args + [db_url], text=True, capture_output=True)
    if out.returncode != 0:
        raise SystemExit(f"pgbench failed: {out.stderr[-2000:]}")
    tps = float(re.search(r"tps = ([\d.]+)", out.stdout).group(1))
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    lat = []
    for name in os.listdir(WORK):
        if name.startswith(f"pgbench-{tag}"):
            for line in open(os.path.join(WORK, name)):
                lat.append(int(line.split()[2]))
    lat.sort()
    pct = lambda p: lat[min(len(lat) - 1, int(len(lat) * p))] / 1000 if lat else 0.0
    return {"rps": tps, "p50_ms": pct(0.50), "p99_ms": pct(0.99), "failed": int(failed.group(1)) if failed else 0}


def quiesce(db_url, limit_s=90):
    """Waits (up to `limit_s`) until no autovacuum worker runs, so that a scenario starts on a quiet
    machine rather than sharing its two cores with the clean-up of the previous one's writes."""
    for _ in range(limit_s * 2):
        if psql(db_url, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'") == "0":
            return
        time.sleep(0.5)


def run_wrk(port, requests_file, tokens_file, concurrency, duration):
    env = dict(os.environ, BENCH_REQUESTS=requests_file, BENCH_TOKENS=tokens_file)
    out = subprocess.run(["wrk", "-t2", f"-c{concurrency}", f"-d{duration}s", "--timeout", "10s", "-s",
                          f"{HERE}/wrk.lua", f"http://127.0.0.1:{port}"], text=True, capture_output=True, env=env)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
    if not line:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[6:])
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
            "requests": r["requests"], "errors": r["errors"] + r["non2xx"]}


def start_perf(data):
    """perf record of every CPU (software clock, so it works without hardware counters) with call graphs."""
    return subprocess.Popen(["perf", "record", "-a", "-g", "-e", "cpu-clock", "-F", "499", "-o", data],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_perf(proc, data):
    """Share of all samples per process and the hottest symbols (self time), from perf report."""
    proc.send_signal(signal.SIGINT)
    proc.wait()
    def table(sort, limit):
        out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", sort, "--stdio", "-g", "none",
                              "--percent-limit", "0.5"], text=True, capture_output=True).stdout
        rows = []
        for line in out.splitlines():
            m = re.match(r"\s*([\d.]+)%\s+(.*\S)", line)
            if m:
                rows.append((" ".join(m.group(2).split()), float(m.group(1))))
        return rows[:limit]
    return {"by_process": table("comm", 12), "by_symbol": table("comm,dso,sym", 40)}


IMPORT_ROWS = 10_000
IMPORT_TARGET_S = 30.0
IMPORT_RATIO_TARGET = 0.50


def import_bench(port, db_url, gen_first, gen_last):
    """A 10,000-row Letterboxd diary imported by a new member through POST /me/imports, timed from the
    upload to `done` (every phase: reading the ZIP, matching every film by title and year, applying
    each row through the same operations as POST /log-entries, in batches). Its baseline: the SQL of
    logging a film (log_film's twin) run 10,000 times on one connection, as the import applies rows
    one after another. Both members are deleted afterwards, so the data set stays as it was."""
    q = lambda sql: psql(db_url, sql)
    stamp = int(time.time())
    def register(name):
        body = json.dumps({"username": name, "email": f"{name}@example.com", "password": "bench password 12345"})
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/register", method="POST", data=body.encode())
        req.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(req, timeout=30) as res:
            out = json.loads(res.read().decode())
        return int(out["member"]["id"]), out["tokens"]["access_token"]
    member, token = register(f"bi{stamp % 10**9}")
    twin_member, _ = register(f"bt{stamp % 10**9}")
    films = json.loads(q("SELECT json_agg(json_build_array(title, year)) FROM (SELECT title, year FROM films "
                         f"WHERE slug LIKE 'gen-%' ORDER BY id LIMIT {IMPORT_ROWS}) f"))
    rng = random.Random(7)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Date", "Name", "Year", "Letterboxd URI", "Rating", "Rewatch", "Tags", "Watched Date"])
    for i in range(IMPORT_ROWS):
        title, year = films[i % len(films)]
        day = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(2000))
        w.writerow([day.isoformat(), title, year, f"https://boxd.it/bench{i}", rng.choice(["", "2.5", "3", "4.5", "5"]),
                    "Yes" if rng.random() < 0.1 else "", rng.choice(["", "cinema", "home, rainy day"]), day.isoformat()])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("letterboxd-bench/diary.csv", out.getvalue())
    boundary = "benchboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"export.zip\"\r\n"
            "Content-Type: application/zip\r\n\r\n").encode() + archive.getvalue() + f"\r\n--{boundary}--\r\n".encode()
    started = time.time()
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/me/imports", method="POST", data=body)
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(req, timeout=60) as res:
        job = json.loads(res.read().decode())
    phases = {}
    while True:
        _, job = request(port, "GET", f"/api/v1/me/imports/{job['id']}", token)
        phase = job["progress"]["phase"]
        if phase:
            phases.setdefault(phase, time.time() - started)
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    seconds = time.time() - started
    created = job["counts"]["created"]
    twin = write(f"{WORK}/import_twin.sql", f"\\set f random({gen_first}, {gen_last})\n" + pgbench_script(
        [open(f"{HERE}/log_film_twin.sql").read().replace("REVIEW_TEXT", "bench").replace(":m", str(twin_member))], {}))
    t0 = time.time()
    sh("pgbench", "-n", "-M", "prepared", "-c", "1", "-t", str(IMPORT_ROWS), "-f", twin, db_url)
    twin_seconds = time.time() - t0
    q(f"DELETE FROM members WHERE id IN ({member}, {twin_member})")
    result = {"rows": IMPORT_ROWS, "status": job["status"], "created": created, "skipped": job["counts"]["skipped"],
              "unmatched": job["unmatched_count"], "seconds": seconds, "rows_per_s": IMPORT_ROWS / seconds,
              "phase_started_s": phases, "twin_seconds": twin_seconds, "twin_rows_per_s": IMPORT_ROWS / twin_seconds}
    result["ratio"] = result["rows_per_s"] / result["twin_rows_per_s"]
    print(f"import {IMPORT_ROWS} rows: {seconds:.1f}s ({result['rows_per_s']:.0f} rows/s, created {created}) | "
          f"twin {twin_seconds:.1f}s ({result['twin_rows_per_s']:.0f} rows/s) | ratio {result['ratio']:.2f}", flush=True)
    return result


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server-url", required=True, help="postgres://… of the cluster, no database")
    ap.add_argument("--pg-log", required=True)
    target = os.environ.get("CARGO_TARGET_DIR", f"{ROOT}/target")
    ap.add_argument("--bin", default=f"{target}/release/filmlog")
    ap.add_argument("--dev-bin", default=None, help="filmlog-dev (gen-data, bench-tokens); default: beside --bin")
    ap.add_argument("--profile", default="medium")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--only", default="")
    ap.add_argument("--pool", type=int, default=0, help="the server's pool size (default: 2 per core)")
    ap.add_argument("--workers", type=int, default=1,
                    help="the server's FILMLOG_WORKERS: PostgreSQL shares this machine's cores and does most of the work")
    ap.add_argument("--perf", action="store_true",
                    help="profile the machine (perf record -a) during each scenario's first API run")
    args = ap.parse_args()
    dev_bin = args.dev_bin or os.path.join(os.path.dirname(args.bin), "filmlog-dev")
    os.makedirs(WORK, exist_ok=True)

    def database(profile):
        name = f"filmlog_bench_{profile}"
        url = f"{args.server_url}/{name}"
        marker = psql(f"{args.server_url}/postgres",
                      f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{name}'")
        if not marker.startswith(f"filmlog gen-data {profile} v4 complete"):
            if marker.startswith(f"filmlog gen-data {profile} v3 complete"):
                # v4 adds lists to v3 in place (the rest stays the data earlier reports measured).
                print(f"adding lists to the {profile} data set (one time)...", flush=True)
                subprocess.run([args.bin, "migrate"], check=True, env=dict(os.environ, DATABASE_URL=url))
            else:
                print(f"generating the {profile} data set (one time)...", flush=True)
                psql(f"{args.server_url}/postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                psql(f"{args.server_url}/postgres", f"CREATE DATABASE {name}")
            started = time.time()
            subprocess.run([dev_bin, "gen-data", "--profile", profile], check=True, env=dict(os.environ, DATABASE_URL=url))
            print(f"generated in {time.time() - started:.0f}s", flush=True)
        else:
            print(f"reusing the {profile} data set", flush=True)
            subprocess.run([args.bin, "migrate"], check=True, env=dict(os.environ, DATABASE_URL=url))
        return url

    results = {"scenarios": {}}
    ci_p99 = {}
    plan = [(args.profile, False), ("ci", True)] if args.profile != "ci" else [("ci", False)]
    for profile, comparison in plan:
        db_url = database(profile)
        secret = os.urandom(48).hex()
        env = dict(os.environ, DATABASE_URL=db_url, FILMLOG_JWT_SECRET=secret, FILMLOG_ACCESS_TTL_SECS="86400",
                   PORT=str(free_port()), RUST_LOG="warn", FILMLOG_WORKERS=str(args.workers),
                   # The pool sized for the database's cores (2 per core, PostgreSQL's wiki formula;
                   # PostgreSQL runs on these cores): with 16 connections for 8 clients on two cores,
                   # every query shared the CPU with 7 others and the feeds' p99 doubled (25-29 ms
                   # against 12-16 ms measured with 4). The twin keeps one backend per client.
                   FILMLOG_DB_POOL_SIZE=str(args.pool or 2 * (os.cpu_count() or 1)),
                   # No periodic popularity recomputation inside the measured runs (gen-data computed
                   # the scores; the recomputation is a background job, not a request).
                   FILMLOG_POPULARITY_INTERVAL_SECS="0",
                   # The writers and the reviews' authors have webhook endpoints (below), so every
                   # write also writes its outbox rows, in its transaction, on both sides; delivering
                   # them is other instances' work (no delivery workers in the measured server).
                   FILMLOG_WEBHOOK_WORKERS="0",
                   # Rate limits stay on (every request spends from its budgets), with budgets that
                   # one address and the feed scenarios' single members never exhaust.
                   **{f"FILMLOG_RATE_{c}_PER_{s}": "1000000000/60"
                      for c in ("READ", "SEARCH", "WRITE") for s in ("IP", "MEMBER")},
                   FILMLOG_RATE_AUTH_PER_IP="1000000000/60", FILMLOG_RATE_REGISTER_PER_IP="1000000000/60")
        tokens = sh(dev_bin, "bench-tokens", "2000", env=env).split()
        tok = lambda m: tokens[m - 1]
        all_tokens = write(f"{WORK}/tokens-all", "\n".join(tokens) + "\n")
        one = lambda m: write(f"{WORK}/tokens-{m}", tok(m) + "\n")

        q = lambda sql: psql(db_url, sql)
        popular = q("SELECT f.slug FROM films f JOIN film_stats s ON s.film_id = f.id ORDER BY s.watch_count DESC, f.id LIMIT 1")
        reviewed = q("SELECT f.slug FROM films f JOIN film_stats s ON s.film_id = f.id ORDER BY s.review_count DESC, f.id LIMIT 1")
        first_review = int(q("SELECT min(id) FROM log_entries WHERE review_text IS NOT NULL"))
        gen_first, gen_last = map(int, q("SELECT min(id), max(id) FROM films WHERE slug LIKE 'gen-%'").split("|"))
        gen_slug = lambda fid: q(f"SELECT slug FROM films WHERE id = {fid}")
        # Reviews by members without a bench token (ids above 2000), so that no request likes its
        # own review (refused with 422, which counted as errors in earlier reports).
        review_ids = [int(i) for i in q(
            "SELECT string_agg(id::text, ',' ORDER BY id) FROM (SELECT id FROM log_entries "
            "WHERE review_text IS NOT NULL AND member_id > 2000 ORDER BY id LIMIT 1000) t").split(",")]
        capture_member, capture_entry = 1777, review_ids[7]
        # Webhook endpoints for every member that writes and every author whose reviews are liked:
        # their writes and notifications add outbox rows in the same transaction (rows of earlier
        # runs go first, so every run starts from the same outbox).
        q("DELETE FROM webhook_endpoints WHERE url = 'https://hooks.invalid/bench'")
        q("INSERT INTO webhook_endpoints (owner_id, url, events, secret) "
          "SELECT id, 'https://hooks.invalid/bench', '{*}', 'whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' "
          "FROM members WHERE id <= 2000 OR id IN (SELECT member_id FROM log_entries "
          f"WHERE id IN ({','.join(map(str, review_ids))}))")
        # The bench lists: gen-data's first BENCH_LISTS lists, each the same 1,000 films in its own
        # order, owned by member 1. The edit scenario moves one of those films to a random place in
        # one of those lists (If-Match: *), as their owner.
        bench_lists = [int(i) for i in q("SELECT string_agg(id::text, ',' ORDER BY id) FROM lists "
                                         "WHERE name LIKE 'Bench list %' AND owner_id = 1").split(",")]
        bench_films = q("SELECT string_agg(id::text || ':' || slug, ',' ORDER BY id) FROM films WHERE id IN "
                        f"(SELECT film_id FROM list_entries WHERE list_id = {bench_lists[0]})").split(",")
        bench_films = [(int(f.split(":", 1)[0]), f.split(":", 1)[1]) for f in bench_films]
        page_list, edit_list = bench_lists[0], bench_lists[-1]
        # A film id for the capture that no other literal of the captured statements equals.
        edit_film = bench_films[len(bench_films) // 2]
        move = lambda slug, position: json.dumps([{"op": "move", "film": slug, "position": position}])

        server = Server(args.bin, env)
        q(f"ALTER DATABASE {db_url.rsplit('/', 1)[1]} SET log_min_duration_statement = 0")
        server.start()
        try:
            def cursor_for(member, pages):
                path, c = "/api/v1/me/feed", None
                for _ in range(pages):
                    _, body = request(server.port, "GET", path + (f"?cursor={c}" if c else ""), tok(member))
                    c = body["next_cursor"]
                return c

            feed_later = {m: cursor_for(m, 5) for m in (1, 2)}
            _, first = request(server.port, "GET", f"/api/v1/lists/{page_list}", tok(1))
            list_cursor = first["entries"]["next_cursor"]
            for _ in range(4):
                _, later = request(server.port, "GET", f"/api/v1/lists/{page_list}/entries?cursor={list_cursor}", tok(1))
                list_cursor = later["next_cursor"]
            review_text = "A long and patient film; " * 16
            scenarios = {
                "film_page": ("GET", f"/api/v1/films/{popular}", None, None),
                "popular_reviews": ("GET", f"/api/v1/films/{reviewed}/reviews", None, None),
                "feed_1000_page1": ("GET", "/api/v1/me/feed", None, 1),
                "feed_1000_later": ("GET", f"/api/v1/me/feed?cursor={feed_later[1]}", None, 1),
                "feed_100_page1": ("GET", "/api/v1/me/feed", None, 2),
                "feed_100_later": ("GET", f"/api/v1/me/feed?cursor={feed_later[2]}", None, 2),
                "search_contains": ("GET", "/api/v1/films?q=arbo", None, None),
                "search_prefix": ("GET", "/api/v1/films?q=heav", None, None),
                # One search across films, people, members and lists (issue 32's targets).
                "search_full": ("GET", "/api/v1/search?q=heaven", None, None),
                "search_autocomplete": ("GET", "/api/v1/search?q=heav&mode=autocomplete", None, None),
                "like_review": ("PUT", f"/api/v1/log-entries/{capture_entry}/like", None, capture_member),
                "feed_random_member": ("GET", "/api/v1/me/feed", None, capture_member),
                "list_page_first": ("GET", f"/api/v1/lists/{page_list}", None, None),
                "list_page_later": ("GET", f"/api/v1/lists/{page_list}/entries?cursor={list_cursor}", None, None),
                "list_edit": ("PATCH", f"/api/v1/lists/{edit_list}/entries", move(edit_film[1], 500), 1),
            }
            headers = {"list_edit": {"If-Match": "*"}}
            if comparison:
                scenarios = {k: v for k, v in scenarios.items() if k.startswith("feed_1")}
            captured = {}
            for name, (method, path, body, member) in scenarios.items():
                time.sleep(0.3)
                offset = os.path.getsize(args.pg_log)
                status, _ = request(server.port, method, path, tok(member or 1), body, headers.get(name))
                assert status < 300, (name, status)
                time.sleep(0.5)
                with open(args.pg_log, errors="replace") as f:
                    f.seek(offset)
                    captured[name] = captured_statements(log_records(f.read()))
        finally:
            server.stop()
            q(f"ALTER DATABASE {db_url.rsplit('/', 1)[1]} RESET log_min_duration_statement")
        server.start()

        member_var = {"m": (str(capture_member), "random(1, 2000)")}
        scripts, requests = {}, {}
        for name in scenarios:
            variables = {}
            if name in ("like_review", "feed_random_member"):
                variables = dict(member_var)
            if name == "like_review":
                variables["e"] = (str(capture_entry), f"{first_review} + 3 * random(0, 999)")
            if name == "list_edit":
                # Any bench list, any of its films, to a random place: the key the capture wrote
                # becomes a random one, so that the twin's writes leave every list's keys distinct
                # (repeating the captured key would pile films onto one key and force respreads).
                key = q(f"SELECT sort_key FROM list_entries WHERE list_id = {edit_list} AND film_id = {edit_film[0]}")
                variables = {"l": (str(edit_list), f"random({bench_lists[0]}, {bench_lists[-1]})"),
                             "f": (str(edit_film[0]), f"random({bench_films[0][0]}, {bench_films[-1][0]})"),
                             "k": (key, "random(1, 4611686018427387904)")}
            scripts[name] = write(f"{WORK}/{name}.sql", pgbench_script(captured[name], variables))
            method, path, body, member = scenarios[name]
            if name == "like_review":
                lines = [f"PUT\t/api/v1/log-entries/{e}/like\t" for e in review_ids]
            elif name == "list_edit":
                lines = [f"PATCH\t/api/v1/lists/{random.choice(bench_lists)}/entries\t"
                         f"{move(random.choice(bench_films)[1], random.randint(1, len(bench_films)))}\tIf-Match: *"
                         for _ in range(400)]
            else:
                lines = [f"{method}\t{path}\t"]
            requests[name] = (write(f"{WORK}/{name}.req", "\n".join(lines) + "\n"),
                              one(member) if member in (1, 2) else all_tokens)
        if not comparison:
            body = json.dumps({"film": "FILM", "watched_on": "2026-11-01", "rating": 4.0, "review": {"text": review_text}})
            slugs = [gen_slug(random.randint(gen_first, gen_last)) for _ in range(300)]
            requests["log_film"] = (write(f"{WORK}/log_film.req", "\n".join(
                f"POST\t/api/v1/log-entries\t{body.replace('FILM', s)}" for s in slugs) + "\n"), all_tokens)
            twin = open(f"{HERE}/log_film_twin.sql").read().replace("REVIEW_TEXT", review_text)
            scripts["log_film"] = write(f"{WORK}/log_film.sql", f"\\set m random(1, 2000)\n\\set f random({gen_first}, {gen_last})\n" + pgbench_script([twin], {}))
            mix = {"film_page": 30, "popular_reviews": 15, "feed_random_member": 25, "search_prefix": 15, "like_review": 10, "log_film": 5}
            mixed_lines = []
            for name, weight in mix.items():
                lines = open(requests[name][0]).read().splitlines()
                mixed_lines += [random.choice(lines) for _ in range(weight * 20)]
            requests["mixed"] = (write(f"{WORK}/mixed.req", "\n".join(mixed_lines) + "\n"), all_tokens)
            scripts["mixed"] = [(scripts[n], w) for n, w in mix.items()]

        # Reads first, then writes: the writes leave work for autovacuum, and a read measured while it
        # runs loses CPU to it (list_page_first measured 3,290 req/s right after log_film, 4,568 alone).
        order = [n for n in ["film_page", "popular_reviews", "feed_100_page1", "feed_100_later", "feed_1000_page1",
                             "feed_1000_later", "search_contains", "search_prefix", "search_full",
                             "search_autocomplete", "list_page_first",
                             "list_page_later", "like_review", "log_film", "list_edit", "mixed"]
                 if n in requests and (not args.only or n in args.only.split(","))]
        pairs = 1 if comparison else args.pairs
        for name in order:
            quiesce(db_url)
            runs = {"sql": [], "api": []}
            extra = {}
            # Warm-up, not recorded: the pool's connections open, prepare this scenario's statements and
            # cache the activity functions' plans (10-20 ms per connection, once). pgbench's connections
            # are new in every run, so its twin gets no such help.
            run_wrk(server.port, requests[name][0], requests[name][1], args.concurrency, 2)
            for i in range(pairs):
                twin = scripts[name] if isinstance(scripts[name], list) else [(scripts[name], 1)]
                runs["sql"].append(run_pgbench(db_url, twin, args.concurrency, args.duration, f"{profile}-{name}-{i}"))
                if name == "mixed":
                    server.reset_peak_rss()
                    cpu0 = server.cpu_seconds()
                runs["api"].append(run_wrk(server.port, requests[name][0], requests[name][1], args.concurrency, args.duration))
                if name == "mixed":
                    extra.setdefault("peak_rss_mib", []).append(server.peak_rss_mib())
                    extra.setdefault("cpu_ms_per_request", []).append(
                        (server.cpu_seconds() - cpu0) * 1000 / max(1, runs["api"][-1]["requests"]))
            if args.perf and not comparison:
                # One more API run under perf, not counted (sampling costs the API some throughput).
                data = f"{WORK}/perf-{profile}-{name}.data"
                profiler = start_perf(data)
                run_wrk(server.port, requests[name][0], requests[name][1], args.concurrency, args.duration)
                prof = stop_perf(profiler, data)
                results.setdefault("profiles", {})[name] = prof
                print(f"profile {name}: " + ", ".join(f"{k} {v}%" for k, v in prof["by_process"][:4]), flush=True)
            med = lambda side, k: statistics.median(r[k] for r in runs[side])
            entry = {
                "sql": {k: med("sql", k) for k in ("rps", "p50_ms", "p99_ms")},
                "api": {k: med("api", k) for k in ("rps", "p50_ms", "p99_ms")},
                "api_errors": sum(r["errors"] for r in runs["api"]),
                "runs": runs,
                "statements": len(captured.get(name, [])) if name in captured else None,
            }
            entry["ratio"] = entry["api"]["rps"] / entry["sql"]["rps"] if entry["sql"]["rps"] else 0
            for k, v in extra.items():
                entry[k] = statistics.median(v)
            if comparison:
                ci_p99[name] = entry["api"]["p99_ms"]
            else:
                results["scenarios"][name] = entry
            print(f"{profile:6} {name:20} api {entry['api']['rps']:8.0f}/s p50 {entry['api']['p50_ms']:6.2f} p99 {entry['api']['p99_ms']:7.2f} | "
                  f"sql {entry['sql']['rps']:8.0f}/s p50 {entry['sql']['p50_ms']:6.2f} p99 {entry['sql']['p99_ms']:7.2f} | ratio {entry['ratio']:.2f}"
                  f"{' errors ' + str(entry['api_errors']) if entry['api_errors'] else ''}", flush=True)
        if not comparison and (not args.only or "import" in args.only.split(",")):
            quiesce(db_url)
            results["import"] = import_bench(server.port, db_url, gen_first, gen_last)
        server.stop()
        if not comparison and (not args.only or "search_quality" in args.only.split(",")):
            import search_quality
            quality = search_quality.evaluate(args.bin, args.server_url)
            results["search_quality"] = quality
            print(f"search quality: {quality['queries']} queries, top 1 {quality['top1']:.1%}, top 3 {quality['top3']:.1%}", flush=True)
        if not comparison:
            results["statements"] = captured

    results["ci_feed_p99_ms"] = ci_p99
    stamp = datetime.datetime.now(datetime.timezone.utc)
    results["meta"] = {
        "date": stamp.isoformat(timespec="seconds"),
        "git_sha": sh("git", "-C", ROOT, "rev-parse", "HEAD").strip(),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                    "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "postgres": {k: psql(f"{args.server_url}/postgres", f"SHOW {k}") for k in
                     ("server_version", "shared_buffers", "fsync", "synchronous_commit", "max_connections", "work_mem")},
        "concurrency": args.concurrency, "duration_s": args.duration, "pairs": args.pairs, "profile": args.profile,
        "server_workers": args.workers, "server_pool": args.pool or 2 * (os.cpu_count() or 1),
    }
    day = stamp.strftime("%Y-%m-%d")
    out = os.path.join(ROOT, "bench", "results")
    write(os.path.join(out, f"{day}.json"), json.dumps(results, indent=2) + "\n")
    report(results, out, day)
    print(f"wrote bench/results/{day}.json, .md, .png")


P99_TARGET_MS = {n: 25.0 for n in ("feed_100_page1", "feed_100_later", "feed_1000_page1", "feed_1000_later")}
P99_TARGET_MS.update({"search_autocomplete": 15.0, "search_full": 30.0})
TARGETS = {"feed_100_page1": 0.75, "feed_100_later": 0.75, "feed_1000_page1": 0.75, "feed_1000_later": 0.75,
           "film_page": 0.40, "popular_reviews": 0.35, "search_contains": 0.80, "like_review": 0.70, "log_film": 0.60, "mixed": 0.50,
           "list_page_first": 0.50, "list_page_later": 0.50, "list_edit": 0.60,
           "search_full": 0.80, "search_autocomplete": 0.80}


def report(results, out, day):
    sc = results["scenarios"]
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        names = list(sc)
        fig, (a, b) = plt.subplots(2, 1, figsize=(12, 8))
        x = range(len(names))
        a.bar([i - 0.2 for i in x], [sc[n]["api"]["rps"] for n in names], 0.4, label="API")
        a.bar([i + 0.2 for i in x], [sc[n]["sql"]["rps"] for n in names], 0.4, label="SQL twin")
        a.set_ylabel("requests / s"); a.set_yscale("log"); a.set_xticks(list(x)); a.set_xticklabels(names, rotation=20); a.legend()
        a.set_title(f"Filmlog bench {day} (c={results['meta']['concurrency']}, medians of {results['meta']['pairs']})")
        for key, style in (("p50_ms", "o"), ("p99_ms", "^")):
            b.plot(names, [sc[n]["api"][key] for n in names], style + "-", label=f"API {key[:3]}")
            b.plot(names, [sc[n]["sql"][key] for n in names], style + "--", label=f"SQL {key[:3]}")
        b.set_ylabel("ms"); b.set_yscale("log"); b.legend(); b.tick_params(axis="x", rotation=20)
        fig.tight_layout(); fig.savefig(os.path.join(out, f"{day}.png"), dpi=90)
    except ImportError:
        pass
    meta = results["meta"]
    lines = [f"# Benchmark {day}", "",
             f"git {meta['git_sha'][:12]}, {meta['machine']['cpus']} cores, PostgreSQL {meta['postgres']['server_version']} "
             f"(shared_buffers {meta['postgres']['shared_buffers']}, fsync {meta['postgres']['fsync']}), "
             f"data `{meta['profile']}`, concurrency {meta['concurrency']}, {meta['duration_s']} s per run, median of {meta['pairs']} twin/API pairs, "
             f"server workers {meta.get('server_workers', '?')}, server pool {meta.get('server_pool', 16)} connections "
             f"(the twins: one backend per client).",
             "", f"![throughput and latency]({day}.png)", "",
             "| scenario | API req/s | API p50 ms | API p99 ms | SQL twin tx/s | SQL p50 ms | SQL p99 ms | ratio | target |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for n, e in sc.items():
        t = TARGETS.get(n)
        verdict = "" if t is None else (f"≥ {t:.0%} {'met' if e['ratio'] >= t else 'MISSED'}")
        if n in P99_TARGET_MS:
            limit = P99_TARGET_MS[n]
            verdict += f", p99 ≤ {limit:.0f} ms {'met' if e['api']['p99_ms'] <= limit else 'MISSED'}"
        lines.append(f"| {n} | {e['api']['rps']:.0f} | {e['api']['p50_ms']:.2f} | {e['api']['p99_ms']:.2f} | {e['sql']['rps']:.0f} | "
                     f"{e['sql']['p50_ms']:.2f} | {e['sql']['p99_ms']:.2f} | {e['ratio']:.2f} | {verdict} |")
    imp = results.get("import")
    if imp:
        met = imp["seconds"] < IMPORT_TARGET_S and imp["ratio"] >= IMPORT_RATIO_TARGET and imp["status"] == "done"
        lines += ["", "## Import", "",
                  f"A {imp['rows']:,}-row Letterboxd diary (films named by title and year, as Letterboxd exports "
                  f"them) imported through `POST /me/imports` by a new member: {imp['seconds']:.1f} s from the upload "
                  f"to `done`, **{imp['rows_per_s']:.0f} rows/s** ({imp['created']:,} entries made, {imp['skipped']} "
                  f"skipped, {imp['unmatched']} films the catalog lacked); phases began at "
                  + ", ".join(f"{k} {v:.1f} s" for k, v in imp["phase_started_s"].items())
                  + f". Baseline, same run: log_film's SQL twin {imp['rows']:,} times on one connection, "
                  f"{imp['twin_seconds']:.1f} s ({imp['twin_rows_per_s']:.0f} rows/s); ratio {imp['ratio']:.2f}. "
                  f"Targets: under {IMPORT_TARGET_S:.0f} s, ratio ≥ {IMPORT_RATIO_TARGET:.2f}: {'met' if met else 'MISSED'}."]
    quality = results.get("search_quality")
    if quality:
        t = quality["targets"]
        lines += ["", "## Search quality", "",
                  f"{quality['queries']} queries with known answers drawn from the demo catalog (`make run`'s: both datasets "
                  f"and the seed, in a database of its own; `bench/search_quality.py`), asked of `GET /search`: "
                  f"answer first **{quality['top1']:.1%}** (target ≥ {t['top1']:.0%}), in the top three "
                  f"**{quality['top3']:.1%}** (target ≥ {t['top3']:.0%}): {'met' if quality['met'] else 'MISSED'}.", "",
                  "| kind | queries | top 1 | top 3 |", "|---|---:|---:|---:|"]
        for kind, k in quality["by_kind"].items():
            lines.append(f"| {kind} | {k['queries']} | {k['top1'] / k['queries']:.0%} | {k['top3'] / k['queries']:.0%} |")
        if quality["misses"]:
            lines += ["", "Not first: " + "; ".join(f"`{m['q']}` ({m['kind']}, rank {m['rank'] or 'none'})"
                                                    for m in quality["misses"][:15]) + "."]
    mixed = sc.get("mixed", {})
    if mixed:
        lines += ["", f"Mixed run: server peak RSS {mixed.get('peak_rss_mib', 0):.0f} MiB, CPU {mixed.get('cpu_ms_per_request', 0):.3f} ms per request."]
    if results.get("ci_feed_p99_ms"):
        lines += ["", "Feed p99 on `medium` against `ci` (target: within 1.5×):", ""]
        for n, p in results["ci_feed_p99_ms"].items():
            m = sc.get(n, {}).get("api", {}).get("p99_ms")
            if m:
                lines.append(f"- {n}: medium {m:.2f} ms, ci {p:.2f} ms, ×{m / p:.2f}")
    lines += scale_out_section(out)
    if results.get("profiles"):
        lines += ["", "## Profiles", "",
                  "`perf record -a -g -e cpu-clock` over one extra, uncounted API run per scenario: the share of all "
                  "samples per process, then the hottest symbols (self time).", ""]
        for n, prof in results["profiles"].items():
            procs = ", ".join(f"{k} {v:.0f} %" for k, v in prof["by_process"][:4])
            syms = ", ".join(f"`{k.split(' ', 2)[-1]}` {v:.1f} %" for k, v in prof["by_symbol"][:6])
            lines.append(f"- **{n}**: {procs}. Hottest: {syms}.")
    write(os.path.join(out, f"{day}.md"), "\n".join(lines) + "\n")


def scale_out_section(out):
    """The newest `make cluster-bench` result beside this report (read-heavy mix on 1 instance +
    primary against 2 instances + primary + standby), as a section of it."""
    found = sorted(f for f in os.listdir(out) if f.endswith("-cluster.json"))
    if not found:
        return []
    with open(os.path.join(out, found[-1])) as f:
        c = json.load(f)
    lines = ["", "## Scale-out", "",
             f"From `make cluster-bench` ({c['date']}, git {c['git']}; {c['mix']}, {c['connections']} connections, "
             f"medians of {c['pairs']}; details in [{found[-1][:-5]}.md]({found[-1][:-5]}.md)):", "",
             "| topology | req/s | p50 ms | p99 ms | primary tx/s | standby tx/s |", "|---|---:|---:|---:|---:|---:|"]
    for name, m in c["topologies"].items():
        lines.append(f"| {name} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['primary_tps']:.0f} | "
                     f"{m['standby_tps']:.0f} |")
    return lines


if __name__ == "__main__":
    main()
