#!/usr/bin/env python3
"""One node: PostgreSQL killed (-9) and restarted under a write load (`make chaos`).

Promises (README, "Chaos"), none of them checkable vacuously:
- at least 20 writes acknowledged before the kill, one of them in its last 0.5 s, and 0 of any
  acknowledged write lost;
- 0 duplicates from writes retried under their Idempotency-Key;
- meanwhile only 503 with Retry-After, and 0 requests without an HTTP answer (5 s timeout);
- writes acknowledged again within 5 s of PostgreSQL being back, without restarting the API.
Figures to target/chaos.json.

Each promise is shown to fail when broken on purpose: `CHAOS_MUTATE=<name> make chaos` with
  late_load   the kill comes before the writers start      -> "writes acknowledged before the kill"
  quiet       the writers pause for 1 s before the kill    -> "in the last 0.5 s before it"
  lose_wal    the WAL is reset before the restart          -> "0 acknowledged writes lost"
  stall_api   the API is stopped (SIGSTOP) for 6 s         -> "0 requests without an answer"
  slow_start  new sessions wait 6 s after authenticating  -> "writes acknowledged again within 5 s"
(`scripts/mutate.sh chaos` runs them all and expects each to fail.)
"""
import json, os, subprocess, sys, time

from client import WriteLoad, call, register, verdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
API, PGDATA, DB_URL = os.environ["CHAOS_API"], os.environ["CHAOS_PGDATA"], os.environ["CHAOS_DB_URL"]
API_PID = int(os.environ["CHAOS_API_PID"])
MUTATE = os.environ.get("CHAOS_MUTATE", "")
PGBIN = "/usr/lib/postgresql/15/bin"
BACK_WITHIN_S = 5
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

load = WriteLoad(API, tokens, slug, "chaos", timeout=5)
if MUTATE != "late_load":
    load.start()
    time.sleep(3)
if MUTATE == "quiet":
    # Paused well past the kill: the last acknowledgement is ~1.2 s before it.
    load.quiet_until = time.time() + 3.0
    time.sleep(1.2)
if MUTATE == "stall_api":
    subprocess.run(["kill", "-STOP", str(API_PID)], check=True)
    time.sleep(6)
    subprocess.run(["kill", "-CONT", str(API_PID)], check=True)
    time.sleep(1)
postmaster = int(open(os.path.join(PGDATA, "postmaster.pid")).readline())
children = subprocess.run(["pgrep", "-P", str(postmaster)], text=True, capture_output=True).stdout.split()
load.fault_starts()
subprocess.run(["kill", "-9", str(postmaster), *children], check=False)
for _ in range(50):  # proven dead before going on
    if subprocess.run(["kill", "-0", str(postmaster)], capture_output=True).returncode != 0:
        break
    time.sleep(0.1)
load.fault_done()
if MUTATE == "late_load":
    load.start()
time.sleep(2)
down = call(API, "GET", "/health/ready")[0]
if MUTATE == "lose_wal":
    os.remove(os.path.join(PGDATA, "postmaster.pid"))  # stale: the server is dead
    subprocess.run([*as_pg, f"{PGBIN}/pg_resetwal", "-f", "-D", PGDATA], check=True, capture_output=True)
# slow_start: every new session waits 6 s after authenticating, longer than the API waits for one.
options = ["-o", "-c post_auth_delay=6"] if MUTATE == "slow_start" else []
subprocess.run([*as_pg, f"{PGBIN}/pg_ctl", "-D", PGDATA, "-l", os.environ["CHAOS_PGLOG"], *options, "-w", "start"],
               check=True, capture_output=True)
restarted = time.time()
load.wait_until_back(60)
time.sleep(2)
load.stop()
back_after_restart = None if load.back_at is None else round(load.back_at - restarted, 2)
figures, checks = verdict(load, DB_URL, tokens[0])  # the API waits 1 s for the database
figures.update({"writes_again_after_restart_seconds": back_after_restart, "ready_while_down": down})
check(down == 503, f"/health/ready answers 503 while PostgreSQL is down: {down}")
check(back_after_restart is not None and back_after_restart <= BACK_WITHIN_S,
      f"writes acknowledged again within {BACK_WITHIN_S} s of PostgreSQL being back, without restarting "
      f"the API: {back_after_restart} s")
for ok, what in checks:
    check(ok, what)
os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
# A mutation's figures go beside the real run's, never over them.
with open(os.path.join(ROOT, "target", f"chaos-mutant-{MUTATE}.json" if MUTATE else "chaos.json"), "w") as f:
    json.dump(figures, f, indent=2)
print(json.dumps(figures, indent=2))
sys.exit(1 if failures else 0)
