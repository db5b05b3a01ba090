"""Fault tolerance of the production setup (scripts/serve-production on a PostgreSQL cluster of the test's own).

- PostgreSQL restarted during a short load: requests in flight may fail, but only during the outage and
  cleanly (503/500 without a traceback or SQL in the body); the instance recovers without a restart,
  every order it acknowledged exists, and no order or case is half-written.
- A gunicorn worker killed with SIGKILL in the middle of a large TMF622 POST leaves either no order or the
  whole order, never part of it; the master replaces the worker and the instance keeps serving.

Runs only when TEST_DATABASE_URL is PostgreSQL and the PostgreSQL server binaries are installed; never
touches the shared server: the cluster is created, restarted and removed here (bounded to ~1 minute).
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.core.test_production import IS_POSTGRES, Browser, Instance, create_case, free_port, set_up_records

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
P622 = "/tmf-api/productOrderingManagement/v4/productOrder"
LEAKS = ("Traceback", "psycopg", "sqlalchemy", "OperationalError", 'File "')

pytestmark = pytest.mark.skipif(
    not IS_POSTGRES or not (PG_BIN / "initdb").exists(),
    reason="fault tests need PostgreSQL (TEST_DATABASE_URL) and its server binaries (PG_BIN)",
)


def _as_postgres(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class Cluster:
    """A throw-away PostgreSQL cluster on a free loopback port (trust authentication, fsync off)."""

    def __init__(self):
        self.directory = Path(tempfile.mkdtemp(prefix="pgfault-", dir="/tmp"))
        self.data = self.directory / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self._run([str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                   "--no-sync"])
        self.start()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/faultdb"
        engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres",
                               isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE DATABASE faultdb"))
        engine.dispose()

    def _run(self, command: list[str]) -> None:
        # No pipes: a server started by pg_ctl would hold them open and the call would never return.
        subprocess.run(_as_postgres(command), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=60)

    def _pg_ctl(self, *arguments: str) -> None:
        self._run([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *arguments])

    def start(self) -> None:
        self._pg_ctl("-l", str(self.directory / "server.log"), "-o",
                     f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def restart(self) -> None:
        self._pg_ctl("-l", str(self.directory / "server.log"), "-m", "fast", "restart")

    def remove(self) -> None:
        try:
            self._pg_ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)

    def query(self, sql: str, **params):
        engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/faultdb")
        try:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).all()
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def cluster():
    own = Cluster()
    yield own
    own.remove()


@pytest.fixture
def instance(cluster, tmp_path):
    served = Instance(cluster.url, secrets.token_hex(32), tmp_path, workers=2, threads=4)
    try:
        served.wait_healthy()
        yield served
    finally:
        served.stop()


def order_body(records: dict, reference: str, items: int) -> dict:
    return {
        "externalId": reference, "description": "Fault test order",
        "relatedParty": [{"id": records["account_number"], "@referredType": "Organization", "role": "Customer"}],
        "productOrderItem": [{"id": str(i), "action": "add", "quantity": 1 + i % 3,
                              "productOffering": {"id": records["offering_number"]}} for i in range(1, items + 1)],
    }


def assert_orders_whole(cluster: Cluster, reference_like: str, items: int) -> list:
    """Every order whose external id matches has all its lines and totals equal to the sum of its lines."""
    orders = cluster.query(
        "SELECT o.external_id, o.total_amount, count(l.id), coalesce(sum(l.quantity * l.unit_price), 0) "
        "FROM customer_order o LEFT JOIN order_line_item l ON l.order_id = o.id "
        "WHERE o.external_id LIKE :ref GROUP BY o.id, o.external_id, o.total_amount", ref=reference_like)
    for external_id, total, lines, line_sum in orders:
        assert lines == items, f"order {external_id} has {lines} of its {items} lines"
        assert Decimal(total) == Decimal(line_sum), f"order {external_id}: total {total} ≠ lines {line_sum}"
    return orders


def assert_cases_consistent(cluster: Cluster) -> None:
    empty_submitted = cluster.query(
        "SELECT c.number FROM order_case c WHERE c.state NOT IN ('Draft', 'Cancelled') "
        "AND NOT EXISTS (SELECT 1 FROM order_case_line l WHERE l.case_id = c.id)")
    assert empty_submitted == [], f"submitted cases without lines: {empty_submitted}"
    draft_lines_on_submitted = cluster.query(
        "SELECT l.number FROM order_case_line l JOIN order_case c ON c.id = l.case_id "
        "WHERE c.state <> 'Draft' AND l.state = 'Draft'")
    assert draft_lines_on_submitted == []


def test_database_restart_during_load_recovers_without_half_written_records(cluster, instance, tmp_path):
    records = set_up_records(cluster.url, tmp_path, instance.secret_key)
    agent = Browser(instance.port)
    agent.login("prod_agent")
    master = instance.process.pid
    outcomes: list[tuple[float, str, int, str]] = []  # (time, request, status or 0 for no answer, body)
    acknowledged: list[str] = []
    stop = threading.Event()

    def work(index: int) -> None:
        browser = Browser(instance.port, dict(agent.cookies), timeout=15)
        round_ = 0
        while not stop.is_set():
            round_ += 1
            reference = f"FAULT-{index}-{round_}"
            for name, call in (
                ("tmf post", lambda: browser.post_json(P622, order_body(records, reference, 10), records["api_key"])),
                ("case list", lambda: browser.get("/ordercaseview/list/")),
                ("case create", lambda: create_case(browser, records, f"Fault case {index}-{round_}")),
            ):
                started = time.monotonic()
                try:
                    response = call()
                except (OSError, AssertionError) as error:  # no answer, or no form to submit (page failed)
                    outcomes.append((started, name, 0, repr(error)))
                    continue
                outcomes.append((started, name, response.status, response.body))
                if name == "tmf post" and response.status == 201:
                    acknowledged.append(reference)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in workers:
        thread.start()
    time.sleep(3)
    outage_start = time.monotonic()
    cluster.restart()
    outage_end = time.monotonic()
    time.sleep(6)
    stop.set()
    for thread in workers:
        thread.join(30)

    # The instance recovers by itself: same master, healthy again, and serving every kind of request.
    deadline = time.monotonic() + 20
    while Browser(instance.port).get("/health").status != 200:
        assert time.monotonic() < deadline, "the instance did not recover after the database restart"
        time.sleep(0.5)
    assert instance.process.poll() is None and instance.process.pid == master
    recovered = [agent.get("/ordercaseview/list/").status,
                 agent.post_json(P622, order_body(records, "FAULT-after", 10), records["api_key"]).status,
                 create_case(agent, records, "Fault case after").status]
    assert recovered == [200, 201, 302]

    # Failures only during the outage (plus the pool's first reconnect afterwards), and never a leak.
    grace = 5.0
    failures = [(t, name, status) for t, name, status, _ in outcomes if status == 0 or status >= 500]
    assert all(outage_start - 1 <= t <= outage_end + grace for t, _, _ in failures), failures
    leaks = [(name, status, body[:300]) for _, name, status, body in outcomes
             if status and any(marker in body for marker in LEAKS)]
    assert leaks == []
    assert sum(1 for _, _, status, _ in outcomes if status in (200, 201, 302)) > 20

    # Nothing half-written, nothing acknowledged and lost.
    orders = assert_orders_whole(cluster, "FAULT-%", 10)
    stored = {external_id for external_id, *_ in orders}
    assert set(acknowledged) <= stored
    assert_cases_consistent(cluster)


def test_worker_killed_mid_request_leaves_no_partial_order(cluster, instance, tmp_path):
    records = set_up_records(cluster.url, tmp_path, instance.secret_key)
    interrupted = 0
    for attempt, delay in enumerate((0.05, 0.2, 0.5)):
        reference = f"KILLED-{attempt}-{secrets.token_hex(3)}"
        result: dict = {}

        def post():
            try:
                result["status"] = Browser(instance.port, timeout=30).post_json(
                    P622, order_body(records, reference, 300), records["api_key"]).status
            except OSError as error:
                result["error"] = error

        sender = threading.Thread(target=post)
        sender.start()
        time.sleep(delay)
        for pid in instance.worker_pids():
            os.kill(pid, signal.SIGKILL)
        sender.join(60)
        interrupted += "error" in result or result.get("status", 0) >= 500
        instance.wait_healthy(30)
    assert interrupted >= 1, "no request was cut off; the test did not exercise a mid-request kill"
    assert_orders_whole(cluster, "KILLED-%", 300)
    assert Browser(instance.port).post_json(P622, order_body(records, "KILLED-after", 300),
                                            records["api_key"]).status == 201
    assert_orders_whole(cluster, "KILLED-after", 300)
