#!/usr/bin/env python3
"""What the cluster promises, shown against the real thing (`make cluster-test`):

1. reads reach the standby;
2. one budget for both instances (the limiter's state in Redis);
3. read-your-writes: a write on one instance, then a read on the other, 1,000 times: 0 stale reads;
4. kill -9 of an API instance under load: no failed idempotent request (HAProxy retries them);
5. kill -9 of the primary node under a write load: failover, 0 acknowledged writes lost, 0 duplicates,
   clients see only 503 with Retry-After meanwhile, the API recovers without a restart;
6. the old primary rejoins as the standby.

Every figure goes to target/cluster-test.json; any broken promise fails the run.
"""
import json, os, subprocess, sys, threading, time, uuid
import urllib.request

from client import WriteLoad, call, header, register

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")
ENV = {}
for line in subprocess.run([CLUSTER, "env"], check=True, text=True, capture_output=True).stdout.splitlines():
    k, _, v = line.partition("=")
    ENV[k] = v.strip("'")
LB, A1, A2 = ENV["CLUSTER_URL"], ENV["CLUSTER_A1"], ENV["CLUSTER_A2"]
FAILURES = []
FIGURES = {}


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILURES.append(what)


def cluster(*args):
    return subprocess.run([CLUSTER, *args], check=True, text=True, capture_output=True).stdout.strip()


def primary_node():
    """The node the monitor has assigned the primary's role (a dead node keeps its last reported state)."""
    for n in ("node1", "node2"):
        if cluster("node-state", n).split("/")[-1] in ("primary", "wait_primary"):
            return n
    return None


# --- setup -------------------------------------------------------------------------------------------
members = {}
for name in ("ryw", "load", "w0", "w1", "w2", "w3"):
    status, token = register(A1, f"ct_{name}")
    assert status == 201 and token, (name, status)
    members[name] = token
status, _, films = call(LB, "GET", "/api/v1/films?limit=20")
slugs = [f["slug"] for f in films["items"]]
assert slugs, "the seed has no films"
slug = slugs[0]

# --- 1. reads reach the standby ----------------------------------------------------------------------
served = [header(call(LB, "GET", "/api/v1/films")[1], "filmlog-read-from") for _ in range(20)]
instances = {header(call(LB, "GET", "/health/ready")[1], "filmlog-instance") for _ in range(4)}
FIGURES["reads_from_standby_of_20"] = served.count("standby")
check(served.count("standby") == 20, f"reads reach the standby: {served.count('standby')} of 20")
check(instances == {"a1", "a2"}, f"the load balancer uses both instances: {sorted(i for i in instances if i)}")
with urllib.request.urlopen(ENV["CLUSTER_A1_METRICS"], timeout=5) as res:
    metrics = res.read().decode()
lag = [l for l in metrics.splitlines() if l.startswith('filmlog_replication_lag_bytes{node="standby"}')]
FIGURES["replication_lag_bytes_at_rest"] = int(float(lag[0].split()[-1])) if lag else None
check(bool(lag) and float(lag[0].split()[-1]) >= 0, f"the instance reports the standby's replay lag: {lag}")

# --- 2. one budget for both instances -----------------------------------------------------------------
allowed, refused_with_retry = 6, False  # the six registrations above spent six of the 30
for i in range(40):
    status, headers, _ = call(A1 if i % 2 else A2, "POST", "/api/v1/auth/register",
                              body={"username": f"ct_budget{i}", "email": f"ct_budget{i}@example.com",
                                    "password": "correct horse battery"})
    if status == 201:
        allowed += 1
    elif status == 429:
        refused_with_retry = header(headers, "retry-after") is not None
        break
FIGURES["registrations_allowed_of_budget_30"] = allowed
check(allowed == 30 and refused_with_retry,
      f"one registration budget across both instances: {allowed} of 30 allowed, then 429 with Retry-After")

# --- 3. read-your-writes ------------------------------------------------------------------------------
token = members["ryw"]
stale, from_standby = 0, 0
trials, done = 1000, 0
for i in range(trials):
    write_at, read_at = (A1, A2) if i % 2 else (A2, A1)
    text = f"trial {i} {uuid.uuid4()}"
    status, headers, body = call(write_at, "POST", "/api/v1/log-entries", token,
                                 {"film": slug, "review": {"text": text}})
    if status != 201:
        check(False, f"read-your-writes trial {i}: write answered {status} {body}")
        break
    position = header(headers, "filmlog-consistency")
    status, headers, body = call(read_at, "GET", f"/api/v1/log-entries/{body['id']}", token,
                                 headers={"Filmlog-Consistency": position})
    if status != 200 or (body.get("review") or {}).get("text") != text:
        stale += 1
    if header(headers, "filmlog-read-from") == "standby":
        from_standby += 1
    done += 1
FIGURES["read_your_writes"] = {"trials": trials, "stale": stale, "served_by_standby": from_standby,
                               "served_by_primary": trials - from_standby}
check(stale == 0 and done == trials, f"read-your-writes: {stale} stale reads in {trials} write-then-read trials across instances "
                  f"({from_standby} served by the standby, {trials - from_standby} by the primary)")

# A position the service did not sign (security review L3: one far ahead would send every read to
# the primary) is ignored: the standby answers.
forged_at_primary = 0
for forged in ["FFFFFFFF/FFFFFFFF", f"FFFFFFFF/FFFFFFFF.{int(time.time()) + 60}.{'0' * 32}"]:
    status, headers, body = call(A1, "GET", f"/api/v1/films/{slug}", None,
                                 headers={"Filmlog-Consistency": forged})
    if status != 200 or header(headers, "filmlog-read-from") != "standby":
        forged_at_primary += 1
check(forged_at_primary == 0, f"forged read-your-writes positions ignored: {forged_at_primary} of 2 read from the primary")


# A session ended on the primary stops reading within a second on every instance, however far the
# standby lags (security review L4): the standby's replay is paused, a second session of a member
# logs out, and its token is refused by both instances at once (their reads with a token go to the
# primary while the standby lags behind what the primary had written half a second earlier).
status, _, body = call(A1, "POST", "/api/v1/auth/login", body={"username": "ct_w0", "password": "correct horse battery"})
second = body.get("access_token") if isinstance(body, dict) else None
check(status == 200 and bool(second), f"a second session of ct_w0: {status}")
pause = ["psql", ENV["CLUSTER_READ_URL"], "-qAtX", "-c"]
subprocess.run(pause + ["SELECT pg_wal_replay_pause()"], check=True, capture_output=True)
try:
    status, _, _ = call(A2, "POST", "/api/v1/auth/logout", second)
    ended = time.time()
    time.sleep(1.0)
    answers = [call(base, "GET", "/api/v1/me/feed", second)[0] for base in (A1, A2, A1, A2)]
    took = time.time() - ended
finally:
    subprocess.run(pause + ["SELECT pg_wal_replay_resume()"], check=True, capture_output=True)
FIGURES["revoked_session_answers"] = answers
check(status == 204 and answers == [401] * 4,
      f"a session ended while the standby's replay was paused is refused everywhere within {took:.1f} s: {answers}")


# --- 4. kill -9 of one API instance under load --------------------------------------------------------
def idempotent_load(stop, results, token):
    i = 0
    while not stop.is_set():
        i += 1
        if i % 3 == 0:
            method, path = ("PUT" if i % 2 else "DELETE"), f"/api/v1/films/{slug}/watchlist"
        else:
            method, path = "GET", f"/api/v1/films/{slug}"
        status, _, body = call(LB, method, path, token)
        results.append((method, status))


stop, results = threading.Event(), []
threads = [threading.Thread(target=idempotent_load, args=(stop, results, members["load"])) for _ in range(6)]
for t in threads:
    t.start()
time.sleep(2)
cluster("kill-api", "a1")
killed_at = len(results)
time.sleep(4)
stop.set()
for t in threads:
    t.join()
failed = [(m, s) for m, s in results if not 200 <= s < 300]
FIGURES["api_instance_kill"] = {"requests": len(results), "after_kill": len(results) - killed_at,
                                "failed": len(failed)}
check(len(results) > 100 and not failed,
      f"kill -9 of an API instance under load: {len(failed)} failed of {len(results)} idempotent requests "
      f"({len(results) - killed_at} after the kill)")
cluster("start-api", "a1")

# --- 5. kill -9 of the primary under a write load -----------------------------------------------------
old_primary = primary_node()
check(old_primary is not None, f"a primary before the kill: {old_primary}")
load = WriteLoad(LB, [members[f"w{n}"] for n in range(4)], slug, "failover")
load.start()
lags = []
for _ in range(6):
    time.sleep(0.5)
    with urllib.request.urlopen(ENV["CLUSTER_A2_METRICS"], timeout=5) as res:
        lags += [int(float(l.split()[-1])) for l in res.read().decode().splitlines()
                 if l.startswith('filmlog_replication_lag_bytes{node="standby"}')]
FIGURES["replication_lag_bytes_under_write_load"] = {"samples": lags, "max": max(lags) if lags else None}
before = len(load.acked)
cluster("kill-node", old_primary)
load.fault_done()  # the node's processes are gone when the command returns
failover_s = load.wait_until_back(120)
time.sleep(3)
load.stop()
new_primary = primary_node()
while new_primary in (None, old_primary) and time.time() - load.fault_at < 120:
    time.sleep(0.5)
    new_primary = primary_node()
missing = load.missing(members["ryw"])
acked, odd_answers = load.acked, load.odd_answers
dupes = subprocess.run(
    ["psql", ENV["CLUSTER_WRITE_URL"], "-qAtX", "-c",
     "SELECT count(*) FROM (SELECT review_text FROM log_entries WHERE review_text LIKE 'failover w%' "
     "GROUP BY review_text HAVING count(*) > 1) d"],
    check=True, text=True, capture_output=True).stdout.strip()
FIGURES["primary_kill"] = {"failover_seconds": round(failover_s, 2), "acknowledged_writes": len(acked),
                           "acknowledged_before_kill": before, "lost": missing, "duplicates": int(dupes),
                           "answers_other_than_503_with_retry_after": len(odd_answers),
                           "old_primary": old_primary, "new_primary": new_primary}
check(load.back_at is not None and new_primary not in (None, old_primary),
      f"failover: {old_primary} → {new_primary}, writes acknowledged again {failover_s:.1f} s after the kill")
check(missing == 0 and len(acked) > before,
      f"0 acknowledged writes lost: {missing} missing of {len(acked)} acknowledged")
check(dupes == "0", f"no duplicates from retried writes: {dupes}")
check(not odd_answers, f"meanwhile only 503 with Retry-After: {odd_answers[:3]}")

# --- 6. the old primary rejoins as the standby --------------------------------------------------------
rejoin_started = time.time()
cluster("start-node", old_primary)
subprocess.run([CLUSTER, "wait-primary"], check=False, capture_output=True)
rejoined = cluster("node-state", old_primary).startswith("secondary/")
FIGURES["rejoin_seconds"] = round(time.time() - rejoin_started, 1)
check(rejoined, f"{old_primary} rejoined as the standby in {FIGURES['rejoin_seconds']} s")

os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
with open(os.path.join(ROOT, "target", "cluster-test.json"), "w") as f:
    json.dump(FIGURES, f, indent=2)
print(json.dumps(FIGURES, indent=2))
if FAILURES:
    print(f"{len(FAILURES)} cluster promise(s) broken", file=sys.stderr)
    sys.exit(1)
