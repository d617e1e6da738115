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
import urllib.error, urllib.request

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


def call(base, method, path, token=None, body=None, headers=None, timeout=10):
    """(status, headers, json or None); status 0 when no HTTP answer came at all."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, method=method, data=data)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as res:
            text = res.read().decode()
            return res.status, dict(res.headers.items()), (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read().decode(errors="replace")
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
        return e.code, dict(e.headers.items()), parsed
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as e:
        return 0, {}, str(e)


def header(headers, name):
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def cluster(*args):
    return subprocess.run([CLUSTER, *args], check=True, text=True, capture_output=True).stdout.strip()


def register(base, name):
    status, _, body = call(base, "POST", "/api/v1/auth/register",
                           body={"username": name, "email": f"{name}@example.com", "password": "correct horse battery"})
    tokens = body.get("tokens", {}) if isinstance(body, dict) else {}
    return status, tokens.get("access_token")


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


# --- 4. kill -9 of one API instance under load --------------------------------------------------------
def load(stop, results, token):
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
threads = [threading.Thread(target=load, args=(stop, results, members["load"])) for _ in range(6)]
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
acked, odd_answers, lock = {}, [], threading.Lock()
first_ok_after_kill = [None]
kill_time = [None]


def writer(n, stop):
    token = members[f"w{n}"]
    i = 0
    while not stop.is_set():
        i += 1
        key, text = str(uuid.uuid4()), f"failover w{n} {i}"
        deadline = time.time() + 120
        while time.time() < deadline:
            sent = time.time()
            status, headers, body = call(LB, "POST", "/api/v1/log-entries", token,
                                         {"film": slug, "review": {"text": text}},
                                         headers={"Idempotency-Key": key}, timeout=15)
            if status == 201:
                with lock:
                    acked[text] = body["id"]
                    # Failover is over at the first write acknowledged that was sent after the
                    # old primary was dead: only a new primary can have committed it.
                    if kill_time[0] and sent > kill_time[0] and first_ok_after_kill[0] is None:
                        first_ok_after_kill[0] = time.time()
                break
            # Anything but 503 + Retry-After (or no answer from a socket the kill cut) is a defect.
            retry = header(headers, "retry-after")
            if status != 0 and not (status == 503 and retry):
                with lock:
                    odd_answers.append((status, body))
            time.sleep(float(retry or 0.2) if status == 503 else 0.2)


old_primary = primary_node()
check(old_primary is not None, f"a primary before the kill: {old_primary}")
stop = threading.Event()
writers = [threading.Thread(target=writer, args=(n, stop)) for n in range(4)]
for t in writers:
    t.start()
time.sleep(3)
before = len(acked)
cluster("kill-node", old_primary)
kill_time[0] = time.time()  # the node's processes are gone when the command returns
while first_ok_after_kill[0] is None and time.time() - kill_time[0] < 120:
    time.sleep(0.2)
failover_s = (first_ok_after_kill[0] or time.time()) - kill_time[0]
time.sleep(3)
stop.set()
for t in writers:
    t.join()
new_primary = primary_node()
while new_primary in (None, old_primary) and time.time() - kill_time[0] < 120:
    time.sleep(0.5)
    new_primary = primary_node()
# Every acknowledged write is there, once.
missing = 0
for text, entry in acked.items():
    status, _, body = call(LB, "GET", f"/api/v1/log-entries/{entry}", members["ryw"])
    if status != 200 or (body.get("review") or {}).get("text") != text:
        missing += 1
dupes = subprocess.run(
    ["psql", ENV["CLUSTER_WRITE_URL"], "-qAtX", "-c",
     "SELECT count(*) FROM (SELECT review_text FROM log_entries WHERE review_text LIKE 'failover w%' "
     "GROUP BY review_text HAVING count(*) > 1) d"],
    check=True, text=True, capture_output=True).stdout.strip()
FIGURES["primary_kill"] = {"failover_seconds": round(failover_s, 2), "acknowledged_writes": len(acked),
                           "acknowledged_before_kill": before, "lost": missing, "duplicates": int(dupes),
                           "answers_other_than_503_with_retry_after": len(odd_answers),
                           "old_primary": old_primary, "new_primary": new_primary}
check(first_ok_after_kill[0] is not None and new_primary not in (None, old_primary),
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
