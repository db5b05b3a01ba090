"""Load test: virtual agents working the order desk over HTTP, against loopback instances only.

    scripts/load-test --target http://127.0.0.1:8081 --target http://127.0.0.1:8082 \\
        --users 16 --duration 60 --max-requests 30000 --user-pattern 'bench_agent{:02d}' --password …

Each virtual user signs in once through the login form (its own keep-alive connection, spread over the
targets), then loops over a realistic agent mix: the Order Cases list (sometimes page 2), case pages,
My open cases, order pages, and now and then an action (a work note on one of the open cases). The run stops at the
duration or the request count, whichever comes first. Prints requests/s, p50/p95/p99 and every error
(5xx, unexpected status, connection failures); exits 1 when there were errors. ``--only PATH`` requests
one page only (``/health``, or a page with no data) to measure what the stack itself costs; ``--versus PATH``
runs the agent mix and then that page alone, each for the duration, and prints the mix's requests/s as a
fraction of the page's (the same machine, minutes apart: the ratio is what compares across machines).
``--server-pid PID`` (instances on this host) adds the servers' CPU time per request, which other work on a
shared machine does not inflate, and with ``--versus`` the ratio the two would reach on cores of their own.

Uses the data set of ``./scripts/bench --size S|L --db postgresql --build-only`` (users bench_agent00…, their
password bench-password-1). Waits up to ``--wait`` seconds for every target to answer /health, so it can be
started right after the instances.
"""
from __future__ import annotations

import argparse
import html
import http.client
import ipaddress
import os
import random
import re
import socket
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
CASE_LINK_RE = re.compile(r"/ordercase(?:view/show|s)/(\d+)")
# The home page's work queues are filtered Order Cases lists: the first is "My open cases", the one with
# no assignee filter is every open case (work notes go there: Closed and Cancelled cases refuse them).
QUEUE_RE = re.compile(r'href="([^"]*/ordercaseview/list/\?[^"]*)"')


def loopback_only(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise SystemExit(f"{url}: only http://127.0.0.1:PORT style targets are supported")
    address = socket.gethostbyname(parts.hostname)
    if not ipaddress.ip_address(address).is_loopback:
        raise SystemExit(f"{url}: refusing to load a non-loopback address ({address})")
    return address, parts.port or 80


STALE_CONNECTION = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class Stop(Exception):
    pass


class Run:
    """Shared budget and results of all virtual users."""

    def __init__(self, duration: float, max_requests: int, only: str | None = None):
        self.only = only
        self.deadline = time.monotonic() + duration
        self.max_requests = max_requests
        self.lock = threading.Lock()
        self.issued = 0
        self.samples: list[tuple[str, float, int]] = []
        self.errors: Counter = Counter()
        self.started = time.monotonic()
        self.finished = None

    def take(self) -> None:
        with self.lock:
            if self.issued >= self.max_requests or time.monotonic() >= self.deadline:
                raise Stop
            self.issued += 1

    def record(self, label: str, seconds: float, status: int) -> None:
        with self.lock:
            self.samples.append((label, seconds, status))


class Agent:
    def __init__(self, run: Run, target: tuple[str, int], username: str, password: str, seed: int):
        self.run, self.target = run, target
        self.username, self.password = username, password
        self.random = random.Random(seed)
        self.connection = None
        self.cookies: dict[str, str] = {}
        self.csrf = ""
        self.max_case = 1
        self.max_order = 1
        self.mine_url = ""
        self.open_cases: list[int] = []

    # -- HTTP ------------------------------------------------------------------------------------

    def request(self, label: str, method: str, path: str, form: dict | None = None,
                expect: tuple[int, ...] = (200,), count: bool = True) -> str:
        if count:
            self.run.take()
        body = urlencode(form) if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                   "Accept": "text/html", "X-Request-ID": f"load-{self.username}-{self.run.issued}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        while True:
            reused = self.connection is not None
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection(*self.target, timeout=30)
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read().decode("utf-8", "replace")
                break
            except STALE_CONNECTION as error:
                self.connection = None
                if reused and method == "GET":
                    # The server closed this idle keep-alive connection as the request went out: send the
                    # (idempotent) request again on a new one, as browsers do.
                    started = time.perf_counter()
                    continue
                self._failed(label, started, count, error_name=type(error).__name__)
                raise
            except (OSError, http.client.HTTPException) as error:
                self.connection = None
                self._failed(label, started, count, error_name=type(error).__name__)
                raise
        elapsed = time.perf_counter() - started
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        if count:
            self.run.record(label, elapsed, response.status)
            if response.status not in expect:
                self.run.errors[f"{label}: HTTP {response.status}"] += 1
        return data

    def _failed(self, label: str, started: float, count: bool, error_name: str) -> None:
        if count:
            self.run.record(label, time.perf_counter() - started, 0)
            self.run.errors[f"{label}: {error_name}"] += 1

    # -- the agent's day -------------------------------------------------------------------------

    def login(self) -> None:
        page = self.request("login page", "GET", "/login/", count=False)
        token = CSRF_RE.search(page)
        self.request("login", "POST", "/login/", {"username": self.username, "password": self.password,
                                                  "csrf_token": token.group(1) or token.group(2)},
                     expect=(302,), count=False)
        listing = self.request("Order Cases list", "GET", "/ordercaseview/list/", count=False)
        token = CSRF_RE.search(listing)
        self.csrf = (token.group(1) or token.group(2)) if token else ""
        ids = [int(i) for i in CASE_LINK_RE.findall(listing)]
        if not ids:
            raise RuntimeError(f"{self.username}: login failed or the case list is empty")
        self.max_case = max(ids)
        self.max_order = max(1, self.max_case // 2)
        home = self.request("home", "GET", "/", count=False)
        queues = [html.unescape(url) for url in QUEUE_RE.findall(home)]
        self.mine_url = queues[0] if queues else "/ordercaseview/list/"
        open_url = next((url for url in queues if "assigned_to" not in url), None)
        if open_url:
            self.open_cases = [int(i) for i in CASE_LINK_RE.findall(self.request("open cases", "GET", open_url,
                                                                               count=False))]
        if not self.open_cases:
            raise RuntimeError(f"{self.username}: no open case to write work notes on")

    def pick_case(self) -> int:
        return self.random.randint(1, self.max_case)

    def step(self) -> None:
        if self.run.only:
            self.request(self.run.only, "GET", self.run.only)
            return
        roll = self.random.random()
        if roll < 0.25:
            self.request("Order Cases list", "GET", "/ordercaseview/list/")
        elif roll < 0.30:
            self.request("Order Cases list p2", "GET", "/ordercaseview/list/?page_OrderCaseView=1")
        elif roll < 0.60:
            self.request("case page", "GET", f"/ordercases/{self.pick_case()}", expect=(200, 404))
        elif roll < 0.75:
            self.request("My open cases", "GET", self.mine_url)
        elif roll < 0.95:
            order = self.random.randint(1, self.max_order)
            self.request("order page", "GET", f"/customerorderview/show/{order}", expect=(200, 302, 404))
        else:
            case = self.random.choice(self.open_cases)
            self.request("work note", "POST", f"/ordercases/{case}/journal",
                         {"csrf_token": self.csrf, "kind": "work note", "text": "Checked with the warehouse."},
                         expect=(302,))

    def live(self, ready: threading.Barrier) -> None:
        try:
            try:
                self.login()
            finally:
                ready.wait()
            while True:
                try:
                    self.step()
                except (OSError, http.client.HTTPException):
                    continue
        except Stop:
            return
        except Exception as error:  # noqa: BLE001  (count, do not kill the run)
            self.run.errors[f"virtual user {self.username}: {error!r}"] += 1


def pct(values: list[float], fraction: float) -> float:
    return values[min(len(values) - 1, int(round(fraction * (len(values) - 1))))]


def report(run: Run) -> dict | None:
    """Print the run's figures; returns its throughput, p95 and error count (None when nothing completed)."""
    elapsed = (run.finished or time.monotonic()) - run.started
    durations = sorted(s[1] * 1000 for s in run.samples)
    errors = sum(run.errors.values())
    if not durations:
        print("no requests completed")
        for message, count in run.errors.most_common():
            print(f"  {count} × {message}")
        return None
    throughput = len(durations) / elapsed
    print(f"requests: {len(durations)} in {elapsed:.1f} s = {throughput:.1f} requests/s")
    print(f"latency ms: p50 {pct(durations, .5):.1f}  p95 {pct(durations, .95):.1f}  p99 {pct(durations, .99):.1f}"
          f"  max {durations[-1]:.1f}  mean {statistics.fmean(durations):.1f}")
    by_label = defaultdict(list)
    for label, seconds, _status in run.samples:
        by_label[label].append(seconds * 1000)
    print(f"{'request':<24}{'count':>8}{'p50':>9}{'p95':>9}{'p99':>9}")
    for label, values in sorted(by_label.items()):
        values.sort()
        print(f"{label:<24}{len(values):>8}{pct(values, .5):>9.1f}{pct(values, .95):>9.1f}{pct(values, .99):>9.1f}")
    print(f"errors: {errors}")
    for message, count in run.errors.most_common():
        print(f"  {count} × {message}")
    return {"throughput": throughput, "p95": pct(durations, .95), "errors": errors}


def process_tree_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and their children (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    seen, pending, total = set(), list(pids), 0.0
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
            for task in Path(f"/proc/{pid}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
    return total


def wait_until_healthy(targets: list[tuple[str, int]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for address, port in targets:
        while True:
            try:
                connection = http.client.HTTPConnection(address, port, timeout=5)
                connection.request("GET", "/health")
                if connection.getresponse().status == 200:
                    break
            except (OSError, http.client.HTTPException):
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"http://{address}:{port}/health did not answer 200 within {seconds:.0f} s")
            time.sleep(0.5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", action="append", required=True, help="http://127.0.0.1:PORT (repeatable)")
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=30_000)
    parser.add_argument("--user-pattern", default="bench_agent{:02d}")
    parser.add_argument("--user-count", type=int, default=10, help="distinct accounts to sign in with")
    parser.add_argument("--password", default="bench-password-1")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--wait", type=float, default=180, metavar="SECONDS",
                        help="how long to wait for the targets to answer /health first")
    parser.add_argument("--only", metavar="PATH", help="request only this page (e.g. /health), to measure the "
                                                       "cost of the stack itself against the agent mix")
    parser.add_argument("--server-pid", type=int, action="append", default=[], metavar="PID",
                        help="a server process on this host (repeatable; its workers are counted with it): "
                             "prints its CPU time per request, which a busy machine does not inflate")
    parser.add_argument("--versus", metavar="PATH",
                        help="run the agent mix, then only this page (the floor, e.g. /resetmypassword/form) for "
                             "as long, and print the mix's requests/s as a fraction of the floor's")
    args = parser.parse_args(argv)
    targets = [loopback_only(url) for url in args.target]
    wait_until_healthy(targets, args.wait)
    if not args.versus:
        figures = measure(args, targets, args.only)
        return 0 if figures is not None and not figures["errors"] else 1
    print(f"== the agent mix ({args.duration:.0f} s)")
    mix = measure(args, targets, None)
    print(f"\n== the floor: {args.versus} only ({args.duration:.0f} s)")
    floor = measure(args, targets, args.versus)
    if mix is None or floor is None:
        return 1
    print(f"\nagent mix / floor: {mix['throughput']:.1f} / {floor['throughput']:.1f} requests/s = "
          f"{mix['throughput'] / floor['throughput']:.2f}; p95 {mix['p95']:.1f} ms / {floor['p95']:.1f} ms; "
          f"errors {mix['errors']} / {floor['errors']}")
    if "cpu_ms" in mix and "cpu_ms" in floor:
        print(f"server CPU a request: {mix['cpu_ms']:.1f} ms / {floor['cpu_ms']:.1f} ms: on cores given to the "
              f"servers alone, the mix would serve {floor['cpu_ms'] / mix['cpu_ms']:.2f} × the floor's requests/s")
    return 1 if mix["errors"] or floor["errors"] else 0


def measure(args, targets, only: str | None) -> dict | None:
    """One run of the virtual users (the agent mix, or *only* one page): sign in, then loop until the end."""
    run = Run(args.duration, args.max_requests, only)
    agents = [Agent(run, targets[i % len(targets)], args.user_pattern.format(i % args.user_count), args.password,
                    args.seed * 1000 + i) for i in range(args.users)]
    ready = threading.Barrier(len(agents) + 1)
    threads = [threading.Thread(target=agent.live, args=(ready,), daemon=True) for agent in agents]
    for thread in threads:
        thread.start()
    ready.wait()  # every virtual user signed in: the clock starts now
    cpu_before = process_tree_cpu(args.server_pid)
    run.started = time.monotonic()
    run.deadline = run.started + args.duration
    for thread in threads:
        thread.join(args.duration + 60)
    run.finished = time.monotonic()
    figures = report(run)
    if figures is not None and args.server_pid:
        figures["cpu_ms"] = (process_tree_cpu(args.server_pid) - cpu_before) * 1000 / len(run.samples)
        print(f"server CPU: {figures['cpu_ms']:.1f} ms a request")
    return figures


if __name__ == "__main__":
    sys.exit(main())
