"""A small HTTP client for the fault tests (stdlib only)."""
import json
import urllib.error
import urllib.request


def call(base, method, path, token=None, body=None, headers=None, timeout=10):
    """(status, headers, json or text); status 0 when no HTTP answer came at all."""
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


def register(base, name):
    status, _, body = call(base, "POST", "/api/v1/auth/register",
                           body={"username": name, "email": f"{name}@example.com", "password": "correct horse battery"})
    tokens = body.get("tokens", {}) if isinstance(body, dict) else {}
    return status, tokens.get("access_token")


class WriteLoad:
    """Writers logging a film with an Idempotency-Key through `base`, each write retried with its
    key until acknowledged (honouring Retry-After), while a fault happens. Records every
    acknowledged write with when it was sent and acknowledged, every request that got no HTTP answer
    within `timeout` (a dropped socket or a hang: counted, then retried), every answer other than
    503 + Retry-After (a defect), and when writes were acknowledged again after the fault."""

    def __init__(self, base, tokens, slug, prefix, timeout=5):
        import threading
        self.base, self.tokens, self.slug, self.prefix, self.timeout = base, tokens, slug, prefix, timeout
        self.acked, self.odd_answers, self.no_answer = {}, [], []
        self.retried_after_answer = 0
        self.slowest_refusal = 0.0
        self.kill_at, self.fault_at, self.back_at = None, None, None
        self.quiet_until = 0.0
        self.lock, self.stop_flag = threading.Lock(), threading.Event()
        # Daemons: a test that fails half-way must still end.
        self.threads = [threading.Thread(target=self._writer, args=(n,), daemon=True)
                        for n in range(len(tokens))]

    def _writer(self, n):
        import time, uuid
        i = 0
        while not self.stop_flag.is_set():
            if time.time() < self.quiet_until:
                time.sleep(self.quiet_until - time.time())
            i += 1
            key, text = str(uuid.uuid4()), f"{self.prefix} w{n} {i}"
            deadline, tries = time.time() + 120, 0
            while time.time() < deadline and not self.stop_flag.is_set():
                sent = time.time()
                tries += 1
                status, headers, body = call(self.base, "POST", "/api/v1/log-entries", self.tokens[n],
                                             {"film": self.slug, "review": {"text": text}},
                                             headers={"Idempotency-Key": key}, timeout=self.timeout)
                if status == 201:
                    with self.lock:
                        self.acked[text] = (body["id"], sent, time.time())
                        if tries > 1:
                            self.retried_after_answer += 1
                        # Writes are back at the first acknowledged write sent after the fault was
                        # complete: only a recovered database can have committed it.
                        if self.fault_at and sent > self.fault_at and self.back_at is None:
                            self.back_at = time.time()
                    break
                retry = header(headers, "retry-after")
                with self.lock:
                    if status == 0:
                        # No HTTP answer at all: a socket the fault cut, or a hang to the timeout.
                        self.no_answer.append((round(sent, 3), round(time.time() - sent, 3), str(body)[:120]))
                    elif not (status == 503 and retry):
                        self.odd_answers.append((status, body))
                    else:
                        self.slowest_refusal = max(self.slowest_refusal, time.time() - sent)
                time.sleep(float(retry or 0.2) if status == 503 else 0.2)

    def start(self):
        for t in self.threads:
            t.start()

    def fault_starts(self):
        """Call just before the fault: writes acknowledged before it are counted from here."""
        import time
        self.kill_at = time.time()

    def fault_done(self):
        import time
        self.fault_at = time.time()

    def acked_between(self, start, end):
        """How many writes were acknowledged in [start, end)."""
        with self.lock:
            return sum(1 for _, _, at in self.acked.values() if start <= at < end)

    def wait_until_back(self, limit):
        import time
        while self.back_at is None and time.time() - self.fault_at < limit:
            time.sleep(0.2)
        return (self.back_at or time.time()) - self.fault_at

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()

    def missing(self, token):
        """Acknowledged writes that cannot be read back as written: (text, acknowledged at)."""
        import time
        lost = []
        # A refusal or no answer is asked again while a node may still be settling (30 s in all);
        # a 404 or a different text is a lost write.
        # Still refusing after that, the service is down: nothing it acknowledged can be read.
        settling, down = time.time() + 30, False
        for text, (entry, _, at) in self.acked.items():
            status, body = 0, None
            while not down:
                status, _, body = call(self.base, "GET", f"/api/v1/log-entries/{entry}", token)
                if status not in (0, 503):
                    break
                down = time.time() > settling
                time.sleep(0.5)
            if status != 200 or (body.get("review") or {}).get("text") != text:
                lost.append((text, at))
        return lost


def verdict(load, db_url, token, n=20, slowest=3.0):
    """What a kill under `load` must show, none of it checkable vacuously: `n` writes acknowledged
    before the kill and one in its last 0.5 s, none of any acknowledged write lost, no duplicate from
    a retried key (counted in the database at `db_url`), and meanwhile only 503 with Retry-After,
    each within `slowest` seconds, and no request without an answer within the load's timeout.
    (figures, [(ok, what)])."""
    import subprocess
    lost = load.missing(token)
    before_kill = load.acked_between(0, load.kill_at)
    near_kill = load.acked_between(load.kill_at - 0.5, load.kill_at)
    lost_before = sum(1 for _, at in lost if at < load.kill_at)
    dupes = subprocess.run(
        ["psql", db_url, "-qAtX", "-c",
         f"SELECT count(*) FROM (SELECT review_text FROM log_entries WHERE review_text LIKE '{load.prefix} w%' "
         "GROUP BY review_text HAVING count(*) > 1) d"],
        text=True, capture_output=True).stdout.strip() or "unreadable"
    figures = {"acknowledged_writes": len(load.acked), "acknowledged_before_kill": before_kill,
               "acknowledged_in_last_half_second": near_kill, "lost": len(lost), "duplicates": dupes,
               "retried_after_an_answer_then_acknowledged": load.retried_after_answer,
               "requests_without_an_answer": len(load.no_answer),
               "slowest_503_seconds": round(load.slowest_refusal, 2),
               "answers_other_than_503_with_retry_after": len(load.odd_answers)}
    checks = [
        (before_kill >= n, f"{before_kill} writes acknowledged before the kill (at least {n})"),
        (near_kill >= 1, f"{near_kill} of them in the last 0.5 s before it (at least 1)"),
        (not lost, f"0 acknowledged writes lost: {len(lost)} lost, {lost_before} of them acknowledged "
                   f"before the kill: {lost[:3]}"),
        (dupes == "0", f"no duplicates from retried writes: {dupes} "
                       f"({load.retried_after_answer} writes acknowledged on a retry)"),
        (not load.no_answer, f"0 requests without an answer within {load.timeout} s: {len(load.no_answer)} "
                             f"{load.no_answer[:3]}"),
        (not load.odd_answers, f"meanwhile only 503 with Retry-After: {load.odd_answers[:3]}"),
        (load.slowest_refusal <= slowest,
         f"each 503 answered within {slowest} s: slowest {load.slowest_refusal:.2f} s"),
    ]
    return figures, checks
