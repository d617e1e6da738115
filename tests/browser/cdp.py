#!/usr/bin/env python3
"""Drive headless Chromium over the Chrome DevTools Protocol (CDP), stdlib only.

Why --remote-debugging-pipe: CDP usually runs over a WebSocket, and the Python
standard library has no WebSocket client. With --remote-debugging-pipe Chromium
instead reads CDP messages from its fd 3 and writes replies/events to its fd 4,
each message a JSON object terminated by a NUL byte. Two os.pipe()s suffice.

Usage: python3 cdp.py <chromium-path> <steps.json | ->   ("-" = steps on stdin)

Steps: a JSON list of objects, run in order against one page:
  {"navigate": url}                            Page.navigate, wait for load event
  {"fill": selector, "value": text}            set .value, fire input + change
  {"click": selector}                          element.click()
  {"wait_url_prefix": prefix, "timeout": s}    wait for top-frame URL; records it
  {"wait_selector": selector, "timeout": s}    wait for querySelector() != null
  {"text": selector}                           records textContent
  {"eval": js_expression}                      records the JSON value
Step "timeout" defaults to 10 s; env CDP_TIMEOUT (default 30 s) bounds the run.
Prints {"ok": true, "url": ..., "results": [...]} and exits 0, or
{"ok": false, "error": ..., "step": i, "url": ..., "html": ...} and exits 1.
"""
import fcntl, json, os, queue, shutil, signal, subprocess, sys, tempfile, threading, time
from contextlib import suppress

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-pipe"]
INF = float("inf")


class StepError(Exception):
    pass


def on_element(sel, body):
    """JS that runs `body` with `el` bound to querySelector(sel), or throws."""
    s = json.dumps(sel)
    return ("(() => { const el = document.querySelector(%s); if (!el) throw new Error("
            "'no element matches selector ' + JSON.stringify(%s)); %s })()" % (s, s, body))


class Browser:
    def __init__(self, path, profile, deadline):
        self.deadline, self.total = deadline, deadline - time.monotonic()
        to_r, to_w = os.pipe()      # we write -> Chromium reads on its fd 3
        from_r, from_w = os.pipe()  # Chromium writes on its fd 4 -> we read

        def child_fds():  # in the child, between fork and exec
            a = fcntl.fcntl(to_r, fcntl.F_DUPFD_CLOEXEC, 10)  # move clear of 3/4 first
            b = fcntl.fcntl(from_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(a, 3)  # dup2 results are inheritable; every other fd is CLOEXEC
            os.dup2(b, 4)
        self.proc = subprocess.Popen(
            [path, *FLAGS, "--user-data-dir=" + profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child_fds, start_new_session=True)
        os.close(to_r)
        os.close(from_w)
        self.out, self.inp = os.fdopen(to_w, "wb"), from_r
        self.inbox, self.replies, self.events = queue.Queue(), {}, []
        self.next_id, self.session, self.top_url = 0, None, None
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        buf = b""
        while True:
            chunk = b""
            with suppress(OSError):
                chunk = os.read(self.inp, 65536)
            if not chunk:
                return self.inbox.put(None)
            *msgs, buf = (buf + chunk).split(b"\0")
            for m in msgs:
                self.inbox.put(json.loads(m))

    def _pump(self, secs):
        """Handle at most one incoming message, waiting up to secs."""
        try:
            msg = self.inbox.get(timeout=max(secs, 0))
        except queue.Empty:
            return
        if msg is None:
            self.inbox.put(None)  # keep later waits from blocking too
            raise StepError("Chromium exited (DevTools pipe closed)")
        if "id" in msg:
            self.replies[msg["id"]] = msg
            return
        self.events.append(msg)
        if msg.get("method") == "Page.frameNavigated":
            f = msg["params"]["frame"]
            if not f.get("parentId"):  # main frame; error pages carry unreachableUrl
                self.top_url = f.get("unreachableUrl") or f["url"]

    def _check_time(self, until, what):
        now = time.monotonic()
        if now >= self.deadline:
            raise StepError("global timeout (%gs) exceeded waiting for %s" % (self.total, what))
        if now >= until:
            raise StepError("timed out waiting for " + what)

    def pump_until(self, cond, until, what):
        while not cond():
            self._check_time(until, what)
            self._pump(min(until, self.deadline) - time.monotonic())

    def poll(self, check, until, what):
        """Call check() every ~100 ms (handling events meanwhile) until not None."""
        while (v := check()) is None:
            self._check_time(until, what)
            end = min(time.monotonic() + 0.1, until, self.deadline)
            while (left := end - time.monotonic()) > 0:
                self._pump(left)
        return v

    def call(self, method, params=None, until=INF):
        self.next_id += 1
        mid, msg = self.next_id, {"id": self.next_id, "method": method, "params": params or {}}
        if self.session:
            msg["sessionId"] = self.session
        self.out.write(json.dumps(msg).encode() + b"\0")
        self.out.flush()
        self.pump_until(lambda: mid in self.replies, until, method)
        reply = self.replies.pop(mid)
        if "error" in reply:
            raise StepError("%s failed: %s" % (method, reply["error"].get("message")))
        return reply.get("result", {})

    def evaluate(self, expr, until=INF):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, until)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text") or "JS exception"
            raise StepError(text.splitlines()[0])
        return r["result"].get("value")

    def attach(self):
        def first_page():
            pages = [t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page"]
            return pages[0] if pages else None
        page = self.poll(first_page, time.monotonic() + 10, "a page target")
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": page["targetId"], "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def current_url(self):
        href = None
        with suppress(Exception):
            href = self.evaluate("location.href", time.monotonic() + 2)
        if not href or href.startswith("chrome-error:"):
            return self.top_url or href
        return href

    def run_step(self, step):
        until = time.monotonic() + float(step.get("timeout", 10))
        soon = lambda: min(until, time.monotonic() + 1)  # polls may stall mid-navigation
        if "navigate" in step:
            mark = len(self.events)
            r = self.call("Page.navigate", {"url": step["navigate"]}, until)
            if r.get("errorText"):
                raise StepError("navigation failed: " + r["errorText"])
            return self.pump_until(lambda: any(e.get("method") == "Page.loadEventFired"
                                               for e in self.events[mark:]), until, "load event")
        if "fill" in step:
            return self.evaluate(on_element(step["fill"], "el.value = %s; for (const t of "
                                 "['input', 'change']) el.dispatchEvent(new Event(t, {bubbles: true}));"
                                 " return null;" % json.dumps(str(step["value"]))), until)
        if "click" in step:
            return self.evaluate(on_element(step["click"], "el.click(); return null;"), until)
        if "wait_url_prefix" in step:
            prefix = step["wait_url_prefix"]
            def check():  # Page.frameNavigated first, location.href as the fallback
                if self.top_url and self.top_url.startswith(prefix):
                    return self.top_url
                with suppress(StepError):
                    href = self.evaluate("location.href", soon())
                    return href if isinstance(href, str) and href.startswith(prefix) else None
            try:
                return self.poll(check, until, "URL prefix %r" % prefix)
            except StepError as e:
                raise StepError("%s (top frame is at %r)" % (e, self.top_url)) from None
        if "wait_selector" in step:
            js = "document.querySelector(%s) !== null" % json.dumps(step["wait_selector"])
            def check():
                with suppress(StepError):
                    return True if self.evaluate(js, soon()) else None
            return self.poll(check, until, "selector %r" % step["wait_selector"]) and None
        if "text" in step:
            return self.evaluate(on_element(step["text"], "return el.textContent;"), until)
        if "eval" in step:
            return self.evaluate(step["eval"], until)
        raise StepError("unknown step: " + json.dumps(step))

    def kill(self):
        if self.proc.returncode is None:
            with suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # Chromium and all its helpers

    def close(self):
        self.kill()
        self.proc.wait()
        with suppress(OSError):
            self.out.close()
        os.close(self.inp)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: cdp.py <chromium-path> <steps.json | ->")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so `finally` still runs
    timeout = float(os.environ.get("CDP_TIMEOUT", "30"))
    browser, watchdog, index, results = None, None, None, []
    profile = tempfile.mkdtemp(prefix="cdp-profile-")
    try:
        with (sys.stdin if sys.argv[2] == "-" else open(sys.argv[2])) as f:
            steps = json.load(f)
        browser = Browser(sys.argv[1], profile, time.monotonic() + timeout)
        watchdog = threading.Timer(timeout + 5, browser.kill)  # backstop if a write blocks
        watchdog.daemon = True
        watchdog.start()
        browser.attach()
        for index, step in enumerate(steps):
            results.append(browser.run_step(step))
        out = {"ok": True, "url": browser.current_url(), "results": results}
    except Exception as e:
        out = {"ok": False, "error": str(e) or type(e).__name__, "step": index, "url": None, "html": None}
        if browser:
            browser.deadline = time.monotonic() + 3  # short grace for diagnostics
            out["url"] = browser.current_url()
            with suppress(Exception):
                out["html"] = browser.evaluate("document.documentElement.outerHTML.slice(0, 2000)",
                                               time.monotonic() + 2)
    finally:
        if watchdog:
            watchdog.cancel()
        if browser:
            browser.close()
        shutil.rmtree(profile, ignore_errors=True)
    print(json.dumps(out))
    sys.exit(0 if out["ok"] else 1)


if __name__ == "__main__":
    main()
