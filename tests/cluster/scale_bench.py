#!/usr/bin/env python3
"""`make cluster-bench`: a read-heavy mixed load (90 % reads by signed-in members: film pages, the
catalog, reviews, member pages and diaries; 10 % likes, unlikes and ratings) on two topologies of
the same cluster, alternated so that both see the same machine:

  A. 1 instance + primary: the `solo` instance, reading and writing on the primary only;
  B. 2 instances + primary + standby: HAProxy in front of a1 and a2, reads on the standby.

Medians of --pairs alternations go to bench/results/<date>-cluster.{json,md} (or --out); errors (any
non-2xx) fail the run.
"""
import argparse, datetime, json, os, random, statistics, subprocess, sys, tempfile, time

from client import call, register

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")


def cluster(*args):
    return subprocess.run([CLUSTER, *args], check=True, text=True, capture_output=True).stdout.strip()


def env():
    out = {}
    for line in cluster("env").splitlines():
        k, _, v = line.partition("=")
        out[k] = v.strip("'")
    return out


def transactions(url):
    """Transactions the node at `url` has run so far (pg_stat_database, every database)."""
    out = subprocess.run(["psql", "-qAtX", url, "-c", "SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"],
                         text=True, capture_output=True)
    return int(out.stdout.strip() or 0)


def wrk(url, requests_file, tokens_file, connections, seconds):
    e = dict(os.environ, BENCH_REQUESTS=requests_file, BENCH_TOKENS=tokens_file)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s",
                          os.path.join(ROOT, "bench", "wrk.lua"), url], text=True, capture_output=True, env=e)
    line = next((l for l in out.stdout.splitlines() if l.startswith("BENCH ")), None)
    if not line:
        raise SystemExit(f"wrk failed: {out.stdout}\n{out.stderr}")
    r = json.loads(line[6:])
    return {"rps": r["requests"] / (r["duration_us"] / 1e6), "p50_ms": r["p50_us"] / 1000,
            "p99_ms": r["p99_us"] / 1000, "requests": r["requests"], "errors": r["errors"] + r["non2xx"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    e = env()
    lb, solo = e["CLUSTER_URL"], e["CLUSTER_SOLO"]

    random.seed(7)
    tokens, names = [], []
    for i in range(40):
        name = f"sb{i}_{random.randrange(10**6)}"
        status, token = register(lb, name)
        if status != 201:
            raise SystemExit(f"register {name}: {status}")
        tokens.append(token)
        names.append(name)
    slugs = []
    for page in ("", "&sort=rating", "&sort=release"):
        status, _, body = call(lb, "GET", f"/api/v1/films?limit=100{page}")
        slugs += [f["slug"] for f in body["items"]]
    slugs = sorted(set(slugs))
    # Give the members something to show: a diary entry and a like each.
    for token in tokens:
        for slug in random.sample(slugs, 3):
            call(lb, "POST", "/api/v1/log-entries", token, {"film": slug, "rating": random.randint(1, 10) / 2})

    reads = []
    for _ in range(900):
        kind = random.random()
        slug, member = random.choice(slugs), random.choice(names)
        if kind < 0.35:
            reads.append(f"GET\t/api/v1/films/{slug}")
        elif kind < 0.55:
            reads.append(f"GET\t/api/v1/films?limit=20&sort={random.choice(['popular', 'rating', 'release', 'title'])}")
        elif kind < 0.70:
            reads.append(f"GET\t/api/v1/films/{slug}/reviews?sort=recent")
        elif kind < 0.85:
            reads.append(f"GET\t/api/v1/members/{member}")
        else:
            reads.append(f"GET\t/api/v1/members/{member}/diary")
    writes = []
    for _ in range(100):
        slug = random.choice(slugs)
        if random.random() < 0.5:
            writes.append(f"{random.choice(['PUT', 'DELETE'])}\t/api/v1/films/{slug}/like")
        else:
            writes.append(f"PUT\t/api/v1/films/{slug}/rating\t{{\"rating\": {random.randint(1, 10) / 2}}}")
    work = tempfile.mkdtemp(prefix="filmlog-cluster-bench-")
    requests_file = os.path.join(work, "mix.req")
    tokens_file = os.path.join(work, "tokens")
    with open(requests_file, "w") as f:
        f.write("\n".join(reads + writes) + "\n")
    with open(tokens_file, "w") as f:
        f.write("\n".join(tokens) + "\n")

    topologies = {"1 instance + primary": solo, "2 instances + primary + standby": lb}
    runs = {k: [] for k in topologies}
    for url in topologies.values():  # warm-up, unrecorded
        wrk(url, requests_file, tokens_file, args.connections, 3)
    for i in range(args.pairs):
        for name, url in topologies.items():
            before = (transactions(e["CLUSTER_WRITE_URL"]), transactions(e["CLUSTER_READ_URL"]))
            r = wrk(url, requests_file, tokens_file, args.connections, args.seconds)
            after = (transactions(e["CLUSTER_WRITE_URL"]), transactions(e["CLUSTER_READ_URL"]))
            r["primary_tps"] = (after[0] - before[0]) / args.seconds
            r["standby_tps"] = (after[1] - before[1]) / args.seconds
            runs[name].append(r)
            print(f"{name:32} run {i + 1}: {r['rps']:7.0f} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:7.2f} ms"
                  f"  errors {r['errors']}  primary {r['primary_tps']:.0f} tx/s  standby {r['standby_tps']:.0f} tx/s", flush=True)
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50_ms", "p99_ms", "primary_tps", "standby_tps")}
           | {"errors": sum(r["errors"] for r in rs)} for name, rs in runs.items()}
    base, scaled = med["1 instance + primary"], med["2 instances + primary + standby"]
    ratio = scaled["rps"] / base["rps"]
    day = datetime.date.today().isoformat()
    git = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short=12", "HEAD"], text=True,
                         capture_output=True).stdout.strip()
    result = {"date": day, "git": git, "cores": os.cpu_count(), "connections": args.connections,
              "seconds": args.seconds, "pairs": args.pairs, "mix": "90% reads / 10% likes, unlikes and ratings",
              "topologies": med, "runs": runs, "ratio": ratio}
    lines = [
        f"# Cluster benchmark {day}",
        "",
        f"git {git}, {os.cpu_count()} cores (everything on one machine: HAProxy, the API instances with 2 workers each, "
        f"PostgreSQL primary + standby with synchronous commit, the pg_auto_failover monitor, Redis, wrk), "
        f"read-heavy mix (90 % reads by signed-in members: film pages, catalog pages, reviews, member pages, "
        f"diaries; 10 % likes, unlikes and ratings), {args.connections} connections, {args.seconds} s per run, "
        f"medians of {args.pairs} alternations. Made by `make cluster-bench`.",
        "",
        "| topology | req/s | p50 ms | p99 ms | non-2xx / errors | primary tx/s | standby tx/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, m in med.items():
        lines.append(f"| {name} | {m['rps']:.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | {m['errors']} | "
                     f"{m['primary_tps']:.0f} | {m['standby_tps']:.0f} |")
    relief = 1 - scaled["primary_tps"] / base["primary_tps"] if base["primary_tps"] else 0
    lines += ["", f"Throughput of B over A: {ratio:.2f}×. The primary runs {relief:.0%} fewer transactions "
              f"in B: the reads went to the standby. On one machine the second instance and the standby add "
              f"no cores, so B cannot be faster here; what the figures show is the cost of the extra hop and "
              f"processes (the throughput ratio) and the load taken off the primary, which is what lets the "
              f"topology grow when each part gets machines of its own (docs/SCALING.md).", ""]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, f"{day}-cluster.json"), "w") as f:
        json.dump(result, f, indent=2)
    with open(os.path.join(args.out, f"{day}-cluster.md"), "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines))
    if any(m["errors"] for m in med.values()):
        sys.exit("requests failed during the benchmark")


if __name__ == "__main__":
    main()
