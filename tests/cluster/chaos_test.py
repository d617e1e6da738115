#!/usr/bin/env python3
"""One node: PostgreSQL killed (-9) and restarted under a write load (`make chaos`).

0 acknowledged writes lost, 0 duplicates, nothing but 503 with Retry-After meanwhile, and the API
writing again once PostgreSQL is back, without a restart. Figures to target/chaos.json.
"""
import json, os, subprocess, sys, time

from client import WriteLoad, call, register

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API, PGDATA, DB_URL = os.environ["CHAOS_API"], os.environ["CHAOS_PGDATA"], os.environ["CHAOS_DB_URL"]
PGBIN = "/usr/lib/postgresql/15/bin"
as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


tokens = []
for n in range(4):
    status, token = register(API, f"chaos_w{n}")
    assert status == 201 and token, status
    tokens.append(token)
slug = call(API, "GET", "/api/v1/films?limit=1")[2]["items"][0]["slug"]

load = WriteLoad(API, tokens, slug, "chaos")
load.start()
time.sleep(2)
before = len(load.acked)
postmaster = int(open(os.path.join(PGDATA, "postmaster.pid")).readline())
children = subprocess.run(["pgrep", "-P", str(postmaster)], text=True, capture_output=True).stdout.split()
subprocess.run(["kill", "-9", str(postmaster), *children], check=True)
load.fault_done()
time.sleep(2)
down = call(API, "GET", "/health/ready")[0]
subprocess.run([*as_pg, f"{PGBIN}/pg_ctl", "-D", PGDATA, "-l", os.environ["CHAOS_PGLOG"], "-w", "start"],
               check=True, capture_output=True)
restarted = time.time()
back_s = load.wait_until_back(60)
time.sleep(2)
load.stop()
missing = load.missing(tokens[0])
dupes = subprocess.run(
    ["psql", DB_URL, "-qAtX", "-c",
     "SELECT count(*) FROM (SELECT review_text FROM log_entries WHERE review_text LIKE 'chaos w%' "
     "GROUP BY review_text HAVING count(*) > 1) d"], check=True, text=True, capture_output=True).stdout.strip()
figures = {"acknowledged_writes": len(load.acked), "acknowledged_before_kill": before, "lost": missing,
           "duplicates": int(dupes), "writes_again_after_restart_seconds": round(time.time() - restarted - 2, 2)
           if load.back_at is None else round(load.back_at - restarted, 2),
           "answers_other_than_503_with_retry_after": len(load.odd_answers), "ready_while_down": down}
check(down == 503, f"/health/ready answers 503 while PostgreSQL is down: {down}")
check(load.back_at is not None, f"writes acknowledged again {figures['writes_again_after_restart_seconds']} s "
                                f"after PostgreSQL was back, without restarting the API")
check(missing == 0 and len(load.acked) > before, f"0 acknowledged writes lost: {missing} of {len(load.acked)}")
check(dupes == "0", f"no duplicates from retried writes: {dupes}")
check(not load.odd_answers, f"meanwhile only 503 with Retry-After: {load.odd_answers[:3]}")
os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
with open(os.path.join(ROOT, "target", "chaos.json"), "w") as f:
    json.dump(figures, f, indent=2)
print(json.dumps(figures, indent=2))
sys.exit(1 if failures else 0)
