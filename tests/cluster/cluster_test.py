#!/usr/bin/env python3
"""What the cluster promises, shown against the real thing (`make cluster-test`):

1. reads reach the standby;
2. one budget for both instances (the limiter's state in Redis);
3. read-your-writes: a write on one instance, then a read on the other, 1,000 times: 0 stale reads,
   at least 900 of them served by the standby; with the standby's replay paused, a read carrying the
   write's position is served by the primary (and without it, by the lagging standby, which has not
   seen the write: the control that proves the lag);
4. kill -9 of an API instance under load: the instance proven gone, no failed idempotent request
   (HAProxy retries them), and every request sent after the kill answered by the other instance;
5. kill -9 of the primary node under a write load: at least 20 writes acknowledged before the kill,
   one in its last 0.5 s, 0 of any acknowledged write lost, 0 duplicates, only 503 with Retry-After
   and 0 requests without an answer meanwhile, writes again within 25 s (failover), without
   restarting the API;
6. the old primary rejoins as the standby within 60 s.

Every figure goes to target/cluster-test.json; any broken promise fails the run.

Each promise is shown to fail when broken on purpose: `CLUSTER_MUTATE=<name> make cluster-test` with
  no_standby_reads  the instances read from the primary only  -> "served by the standby"
  ignore_position   positions are not sent with reads          -> "replay paused"
  keep_a1           the kill of a1 is skipped                  -> "a1 is gone"
  early_kill        the primary is killed before the writers start -> "before the kill"
  async_commit      the primary stops waiting for the standby, whose receiver stops and dies with
                    the primary                                -> "0 acknowledged writes lost"
  slow_demote       the monitor waits 40 s to demote           -> "within 25 s"
(`scripts/mutate.sh cluster` runs them all and expects each to fail.)
"""
import json, os, subprocess, sys, threading, time, uuid
import urllib.request

from client import WriteLoad, call, header, register, verdict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")
ENV = {}
for line in subprocess.run([CLUSTER, "env"], check=True, text=True, capture_output=True).stdout.splitlines():
    k, _, v = line.partition("=")
    ENV[k] = v.strip("'")
LB, A1, A2 = ENV["CLUSTER_URL"], ENV["CLUSTER_A1"], ENV["CLUSTER_A2"]
MUTATE = os.environ.get("CLUSTER_MUTATE", "")
FAILOVER_WITHIN_S, REJOIN_WITHIN_S, STANDBY_READS_AT_LEAST = 25, 60, 900
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
    position = None if MUTATE == "ignore_position" else header(headers, "filmlog-consistency")
    status, headers, body = call(read_at, "GET", f"/api/v1/log-entries/{body['id']}", token,
                                 headers={"Filmlog-Consistency": position} if position else None)
    if status != 200 or (body.get("review") or {}).get("text") != text:
        stale += 1
    if header(headers, "filmlog-read-from") == "standby":
        from_standby += 1
    done += 1
FIGURES["read_your_writes"] = {"trials": trials, "stale": stale, "served_by_standby": from_standby,
                               "served_by_primary": trials - from_standby}
check(stale == 0 and done == trials, f"read-your-writes: {stale} stale reads in {trials} write-then-read trials across instances "
                  f"({from_standby} served by the standby, {trials - from_standby} by the primary)")
check(from_standby >= STANDBY_READS_AT_LEAST,
      f"read-your-writes: {from_standby} of {trials} reads served by the standby (at least {STANDBY_READS_AT_LEAST})")

# With the standby's replay paused, the standby lags behind every write: a read carrying the
# write's position must go to the primary, while the same read without it is answered by the
# standby, which has not seen the write (the control: the lag is real, and anonymous reads reach the
# standby). Anonymous reads, so that no session check sends them to the primary anyway.
pause = ["psql", ENV["CLUSTER_READ_URL"], "-qAtX", "-c"]
entry, position = None, None
lagging = {"trials": 50, "with_position_from_primary": 0, "with_position_right": 0,
           "without_position_from_standby_not_found": 0, "after_resume_from_standby": False}
subprocess.run(pause + ["SELECT pg_wal_replay_pause()"], check=True, capture_output=True)
try:
    for i in range(lagging["trials"]):
        text = f"lagging {i} {uuid.uuid4()}"
        status, headers, body = call(A1, "POST", "/api/v1/log-entries", token, {"film": slug, "review": {"text": text}})
        if status != 201:
            check(False, f"lagging trial {i}: write answered {status} {body}")
            break
        entry = body["id"]
        position = None if MUTATE == "ignore_position" else header(headers, "filmlog-consistency")
        status, headers, body = call(A2, "GET", f"/api/v1/log-entries/{entry}",
                                     headers={"Filmlog-Consistency": position} if position else None)
        if header(headers, "filmlog-read-from") == "primary":
            lagging["with_position_from_primary"] += 1
        if status == 200 and (body.get("review") or {}).get("text") == text:
            lagging["with_position_right"] += 1
        status, headers, _ = call(A2, "GET", f"/api/v1/log-entries/{entry}")
        if status == 404 and header(headers, "filmlog-read-from") == "standby":
            lagging["without_position_from_standby_not_found"] += 1
finally:
    subprocess.run(pause + ["SELECT pg_wal_replay_resume()"], check=True, capture_output=True)
deadline = time.time() + 2
while entry and time.time() < deadline and not lagging["after_resume_from_standby"]:
    status, headers, _ = call(A2, "GET", f"/api/v1/log-entries/{entry}",
                              headers={"Filmlog-Consistency": position} if position else None)
    lagging["after_resume_from_standby"] = status == 200 and header(headers, "filmlog-read-from") == "standby"
    time.sleep(0.1)
FIGURES["read_your_writes_with_replay_paused"] = lagging
n = lagging["trials"]
check(lagging["without_position_from_standby_not_found"] == n,
      f"with the standby's replay paused, a read without the position is answered by the standby, which "
      f"has not seen the write: {lagging['without_position_from_standby_not_found']} of {n}")
check(lagging["with_position_from_primary"] == n and lagging["with_position_right"] == n,
      f"with the standby's replay paused, a read with the write's position is served by the primary and "
      f"sees the write: {lagging['with_position_from_primary']} from the primary, "
      f"{lagging['with_position_right']} right, of {n}")
check(lagging["after_resume_from_standby"],
      "once replay resumes, the read with the position is served by the standby again within 2 s")

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
        sent = time.time()
        status, headers, body = call(LB, method, path, token)
        results.append((sent, method, status, header(headers, "filmlog-instance")))


def pid_gone(pid):
    """Whether a process is gone (a zombie runs nothing)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


a1_pid = int(open(os.path.join(ENV["CLUSTER_DIR"], "run", "a1.pid")).read().strip())
stop, results = threading.Event(), []
threads = [threading.Thread(target=idempotent_load, args=(stop, results, members["load"]), daemon=True)
           for _ in range(6)]
for t in threads:
    t.start()
try:
    time.sleep(2)
    if MUTATE != "keep_a1":
        cluster("kill-api", "a1")
    killed_at = time.time()
    a1_gone, a1_live = pid_gone(a1_pid), call(A1, "GET", "/health/live", timeout=2)[0]
    time.sleep(4)
finally:
    stop.set()
    for t in threads:
        t.join()
failed = [(m, s) for _, m, s, _ in results if not 200 <= s < 300]
before_kill = {i for sent, _, _, i in results if sent < killed_at - 0.5}
after_kill = [i for sent, _, _, i in results if sent > killed_at]
FIGURES["api_instance_kill"] = {"requests": len(results), "after_kill": len(after_kill), "failed": len(failed),
                                "answered_before_the_kill_by": sorted(i for i in before_kill if i),
                                "answered_after_the_kill_by": sorted({i for i in after_kill if i})}
check(a1_gone and a1_live == 0, f"kill -9 of the API instance a1: a1 is gone (process {a1_pid} gone: {a1_gone}, "
                                f"its port answers: {a1_live or 'nothing'})")
check(len(results) > 100 and not failed,
      f"kill -9 of an API instance under load: {len(failed)} failed of {len(results)} idempotent requests")
check(before_kill == {"a1", "a2"} and len(after_kill) >= 50 and set(after_kill) == {"a2"},
      f"requests continued on a2: before the kill answered by {sorted(i for i in before_kill if i)}, "
      f"{len(after_kill)} sent after it answered by {sorted({i or 'nothing' for i in after_kill})}")
cluster("start-api", "a1")

# --- 5. kill -9 of the primary under a write load -----------------------------------------------------
old_primary = primary_node()
check(old_primary is not None, f"a primary before the kill: {old_primary}")
load = WriteLoad(LB, [members[f"w{n}"] for n in range(4)], slug, "failover", timeout=10)
if MUTATE != "early_kill":
    load.start()
lags = []
for _ in range(0 if MUTATE == "early_kill" else 6):
    time.sleep(0.5)
    with urllib.request.urlopen(ENV["CLUSTER_A2_METRICS"], timeout=5) as res:
        lags += [int(float(l.split()[-1])) for l in res.read().decode().splitlines()
                 if l.startswith('filmlog_replication_lag_bytes{node="standby"}')]
FIGURES["replication_lag_bytes_under_write_load"] = {"samples": lags, "max": max(lags) if lags else None}
if MUTATE == "async_commit":
    # The primary acknowledges commits before the standby has them (a broken durability promise).
    subprocess.run(["psql", ENV["CLUSTER_WRITE_URL"], "-qAtX", "-c", "ALTER SYSTEM SET synchronous_commit = local"],
                   check=True, capture_output=True)
    subprocess.run(["psql", ENV["CLUSTER_WRITE_URL"], "-qAtX", "-c", "SELECT pg_reload_conf()"],
                   check=True, capture_output=True)
    time.sleep(1)
    # ... and the standby stops receiving for a while: what is acknowledged meanwhile exists on the
    # primary alone.
    receiver = subprocess.run(["psql", ENV["CLUSTER_READ_URL"], "-qAtX", "-c", "SELECT pid FROM pg_stat_wal_receiver"],
                              check=True, text=True, capture_output=True).stdout.strip()
    subprocess.run(["kill", "-STOP", receiver], check=True)
    time.sleep(1.5)
load.fault_starts()
killed = cluster("kill-node", old_primary)
# The moment of the kill -9 itself, as the script printed it (after it found the processes).
load.kill_at = float(killed.splitlines()[-1]) if killed else load.kill_at
if MUTATE == "async_commit":
    # What the receiver had not written dies with it (the socket's buffer included).
    subprocess.run(["kill", "-9", receiver], check=False)
if MUTATE == "early_kill":
    load.start()
load.fault_done()  # the node's processes are gone when the command returns
load.wait_until_back(120)
failover_s = (load.back_at or time.time()) - load.kill_at  # from the kill -9 itself
time.sleep(3)
load.stop()
new_primary = primary_node()
while new_primary in (None, old_primary) and time.time() - load.fault_at < 120:
    time.sleep(0.5)
    new_primary = primary_node()
figures, checks = verdict(load, ENV["CLUSTER_WRITE_URL"], members["ryw"])  # the API waits 500 ms
figures.update({"failover_seconds": round(failover_s, 2), "old_primary": old_primary, "new_primary": new_primary})
FIGURES["primary_kill"] = figures
check(load.back_at is not None and new_primary not in (None, old_primary) and failover_s <= FAILOVER_WITHIN_S,
      f"failover: {old_primary} → {new_primary}, writes acknowledged again {failover_s:.1f} s after the kill "
      f"(within {FAILOVER_WITHIN_S} s)")
for ok, what in checks:
    check(ok, what)

# --- 6. the old primary rejoins as the standby --------------------------------------------------------
rejoin_started = time.time()
cluster("start-node", old_primary)
waited = subprocess.run([CLUSTER, "wait-primary"], check=False, capture_output=True).returncode
rejoined = cluster("node-state", old_primary).startswith("secondary/")
FIGURES["rejoin_seconds"] = round(time.time() - rejoin_started, 1)
check(waited == 0 and rejoined and FIGURES["rejoin_seconds"] <= REJOIN_WITHIN_S,
      f"{old_primary} rejoined as the standby in {FIGURES['rejoin_seconds']} s (within {REJOIN_WITHIN_S} s)")

os.makedirs(os.path.join(ROOT, "target"), exist_ok=True)
# A mutation's figures go beside the real run's, never over them.
with open(os.path.join(ROOT, "target", f"cluster-test-mutant-{MUTATE}.json" if MUTATE else "cluster-test.json"),
          "w") as f:
    json.dump(FIGURES, f, indent=2)
print(json.dumps(FIGURES, indent=2))
if FAILURES:
    print(f"{len(FAILURES)} cluster promise(s) broken", file=sys.stderr)
    sys.exit(1)
