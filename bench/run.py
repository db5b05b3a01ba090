"""The speed-at-scale benchmark: ``python -m bench.run --size S|L --db sqlite|postgresql``.

Builds the data set once (``bench/data/<size>.db`` or the PostgreSQL database ``orderdesk_bench_<size>``;
``--rebuild`` starts over), adds this run's fixture cases, then times repeated requests through the full
Flask stack (test client, CSRF on, an agent logged in through the login form) and counts the SQL
statements of each. Beside the product's pages it times the same data read directly in SQL (the floor)
and the stock Flask-AppBuilder list view over the same table (a plain ``ModelView`` registered only in
this benchmark's app). Each row gives p50, p95 and p99 (with the default 30 runs, p99 is the slowest run),
the benchmark process's own CPU time (a shared machine's other work inflates the wall time, not this), and
the garbage collector's time per run and longest pause. Prints one table and writes
``bench/results/<size>-<db>.md`` (and ``.json``).

PostgreSQL: ``BENCH_PG_URL`` (default ``postgresql+psycopg://orderdesk:orderdesk@127.0.0.1/``, the port from
``PGPORT`` or 5432) is a server URL without database; the role needs CREATEDB.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
DATA_DIR = BENCH_DIR / "data"
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_PG = "postgresql+psycopg://orderdesk:orderdesk@127.0.0.1/"

TARGETS = {
    "Order Cases list": "p50 ≤ 30 ms, ≤ 1.5× S",
    "Case page, 500 lines": "≤ 150 ms",
    "Assign to me, 500 lines": "≤ 100 ms",
    "TMF622 POST, 10 items": "p50 ≤ 25 ms",
}
P622 = "/tmf-api/productOrderingManagement/v4/productOrder"


def database_url(size: str, db: str) -> str:
    if db == "sqlite":
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{DATA_DIR / f'{size}.db'}"
    return os.environ.get("BENCH_PG_URL", DEFAULT_PG).rstrip("/") + f"/orderdesk_bench_{size.lower()}"


def prepare_database(url: str, rebuild: bool) -> None:
    from sqlalchemy import create_engine, text

    if url.startswith("sqlite"):
        path = Path(url[len("sqlite:///"):])
        if rebuild:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        return
    server, name = url.rsplit("/", 1)
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if rebuild:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()


def make_app(url: str):
    os.environ.setdefault("INSTANCE_PATH", str(DATA_DIR / "instance"))
    os.environ.setdefault("AUTO_MIGRATE", "true")
    from app import create_app

    return create_app({
        "SQLALCHEMY_DATABASE_URI": url, "LOAD_DEMO_DATA": False, "AUTH_RATE_LIMITED": False,
        "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": True, "MAIL_SERVER": "",
    })


def register_stock_view(app) -> None:
    """The plain Flask-AppBuilder list over order_case, for comparison; only in the benchmark's app."""
    from flask_appbuilder import ModelView
    from flask_appbuilder.models.sqla.interface import SQLAInterface

    from app.models import OrderCase

    class StockOrderCaseView(ModelView):
        datamodel = SQLAInterface(OrderCase)
        list_columns = ["number", "short_description", "account", "state", "priority", "assigned_to", "opened_at"]
        search_columns = ["number", "short_description", "account", "state", "priority", "assigned_to"]
        base_order = ("number", "desc")
        page_size = 20

    with app.app_context():
        sm = app.appbuilder.sm
        app.appbuilder.add_view_no_menu(StockOrderCaseView)
        permission = sm.find_permission_view_menu("can_list", "StockOrderCaseView")
        role = sm.find_role("agent")
        if permission not in role.permissions:
            sm.add_permission_role(role, permission)


class CollectorWatch:
    """The garbage collector's passes during a timed row: how many, their total and their longest pause."""

    def __init__(self):
        self.started = 0.0
        self.reset()
        gc.callbacks.append(self._observe)

    def reset(self):
        self.passes, self.total_ms, self.longest_ms = 0, 0.0, 0.0

    def _observe(self, phase, info):
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause = (time.perf_counter() - self.started) * 1000
        self.passes += 1
        self.total_ms += pause
        self.longest_ms = max(self.longest_ms, pause)


class StatementCounter:
    def __init__(self, engine):
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *args, **kwargs):
        self.count += 1


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


class Bench:
    def __init__(self, app, counter, repeat: int):
        self.app = app
        self.counter = counter
        self.collector = CollectorWatch()
        self.repeat = repeat
        self.rows: list[dict] = []

    def time(self, label: str, call, expect: tuple[int, ...] | None = (200,), repeat: int | None = None,
             warmup: int = 3, arguments=None) -> dict:
        """Time *call* (a request, or plain SQL) *repeat* times after *warmup* runs; arguments[i] feeds run i."""
        repeat = repeat or self.repeat
        runs = warmup + repeat
        durations, cpu, statements = [], [], []
        self.collector.reset()
        for index in range(runs):
            argument = arguments[index] if arguments is not None else None
            self.counter.count = 0
            started, cpu_started = time.perf_counter(), time.process_time()
            result = call(argument) if arguments is not None else call()
            elapsed = (time.perf_counter() - started) * 1000
            cpu_elapsed = (time.process_time() - cpu_started) * 1000
            if expect is not None and result.status_code not in expect:
                raise SystemExit(f"{label}: answered {result.status_code}, expected {expect}\n"
                                 f"{result.get_data(as_text=True)[:2000]}")
            if index >= warmup:
                durations.append(elapsed)
                cpu.append(cpu_elapsed)
                statements.append(self.counter.count)
            if index == warmup - 1:
                self.collector.reset()
        return {"label": label, "p50": statistics.median(durations), "p95": percentile(durations, 0.95),
                "p99": percentile(durations, 0.99), "cpu_p50": statistics.median(cpu),
                "cpu_p95": percentile(cpu, 0.95), "statements": max(statements),
                "statements_min": min(statements), "runs": repeat,
                "gc_ms_per_run": self.collector.total_ms / repeat, "gc_longest_ms": self.collector.longest_ms}


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    if not match:
        raise SystemExit("no CSRF token on the page")
    return match.group(1) or match.group(2)


def login(app, username: str, password: str):
    client = app.test_client()
    token = csrf_from(client.get("/login/").get_data(as_text=True))
    response = client.post("/login/", data={"username": username, "password": password, "csrf_token": token})
    if response.status_code != 302:
        raise SystemExit(f"login of {username} failed")
    return client


def tmf_body(index: int) -> dict:
    return {
        "externalId": f"BENCH-{index}", "description": "Benchmark order", "priority": "4",
        "relatedParty": [{"id": "ACC0000001", "@referredType": "Organization", "role": "Customer"}],
        "productOrderItem": [
            {"id": str(item), "action": "add", "quantity": 1 + item % 3,
             "productOffering": {"id": f"PO{1 + item % 20:07d}"}}
            for item in range(1, 11)
        ],
    }


def floor_queries(dialect: str):
    """The SQL the list and case pages need at least, written by hand."""
    from sqlalchemy import text

    columns = ("SELECT c.id, c.number, c.short_description, a.name, c.state, c.priority, u.first_name, "
               "u.last_name, c.opened_at FROM order_case c JOIN account a ON a.id = c.account_id "
               "LEFT JOIN ab_user u ON u.id = c.assigned_to_id ")
    return {
        "list": [text(columns + "ORDER BY c.number DESC LIMIT 20"),
                 text("SELECT count(*) FROM (SELECT 1 FROM order_case LIMIT 1001) s")],
        "mine": [text(columns + "WHERE c.assigned_to_id = :u AND c.state NOT IN ('Closed', 'Cancelled') "
                                "ORDER BY c.number DESC LIMIT 20"),
                 text("SELECT count(*) FROM (SELECT 1 FROM order_case WHERE assigned_to_id = :u AND state NOT IN "
                      "('Closed', 'Cancelled') LIMIT 1001) s")],
        "case": [text("SELECT c.*, a.name FROM order_case c JOIN account a ON a.id = c.account_id WHERE c.id = :c"),
                 text("SELECT l.*, o.number, ol.number, po.name FROM order_case_line l "
                      "LEFT JOIN customer_order o ON o.id = l.order_id "
                      "LEFT JOIN order_line_item ol ON ol.id = l.order_line_id "
                      "LEFT JOIN product_offering po ON po.id = ol.offering_id WHERE l.case_id = :c ORDER BY l.id"),
                 text("SELECT * FROM audit_event WHERE case_id = :c ORDER BY created_on DESC, id DESC LIMIT 300"),
                 text("SELECT * FROM journal_entry WHERE case_id = :c ORDER BY created_on DESC, id DESC LIMIT 300")],
    }


class SqlCall:
    """Run hand-written statements on a pooled connection, like a request would."""

    status_code = 200

    def __init__(self, engine, statements, params):
        self.engine, self.statements, self.params = engine, statements, params

    def __call__(self):
        with self.engine.connect() as conn:
            for statement in self.statements:
                conn.execute(statement, self.params).fetchall()
        return self


def open_data_set(size_name: str, db: str, rebuild: bool = False):
    """The size and an application over its data set, built first if it is not yet, with the bench users."""
    from bench import dataset

    size = dataset.SIZES[size_name]
    url = database_url(size_name, db)
    prepare_database(url, rebuild)
    app = make_app(url)
    from app.core.extensions import db as database

    with app.app_context():
        if not dataset.is_built(database.engine, size):
            dataset.build(app, size)
        dataset.ensure_schema(database.engine)
        dataset.ensure_users(size)
        database.session.remove()
    return size, app


def run(size_name: str, db: str, repeat: int, rebuild: bool) -> list[dict]:
    from bench import dataset

    size, app = open_data_set(size_name, db, rebuild)
    from app.core.extensions import db as database

    with app.app_context():
        dataset.remove_run_records(database.engine, size)
        api_key = dataset.api_key_for("bench_integrator")
        agent_id = app.appbuilder.sm.find_user(username=dataset.agent_name(0)).id
        engine = database.engine
        database.session.remove()
    register_stock_view(app)
    counter = StatementCounter(engine)
    bench = Bench(app, counter, repeat)
    agent = login(app, dataset.agent_name(0), dataset.PASSWORD)
    with app.test_request_context():
        from flask_appbuilder.models.sqla.filters import FilterNotIn, FilterRelationOneToManyEqual

        from app.home.page import CLOSED_CASE_STATES, list_url

        mine_url = list_url(app.appbuilder, "OrderCaseView", [
            ("state", FilterNotIn, list(CLOSED_CASE_STATES)),
            ("assigned_to", FilterRelationOneToManyEqual, [str(agent_id)])])
    stock_mine_url = mine_url.replace("/ordercaseview/", "/stockordercaseview/")
    token = csrf_from(agent.get("/ordercaseview/list/").get_data(as_text=True))
    floors = floor_queries(engine.dialect.name)
    rows = []

    def with_floor(row, floor, stock=None):
        row["floor_p50"] = floor["p50"]
        if stock:
            row["stock_p50"] = stock["p50"]
            row["stock_statements"] = stock["statements"]
        rows.append(row)
        report(row)

    print(f"measuring {size_name} on {db}, {repeat} runs each", flush=True)
    with_floor(bench.time("Order Cases list", lambda: agent.get("/ordercaseview/list/")),
               bench.time("floor", SqlCall(engine, floors["list"], {})),
               bench.time("stock", lambda: agent.get("/stockordercaseview/list/")))
    with_floor(bench.time("My open cases", lambda: agent.get(mine_url)),
               bench.time("floor", SqlCall(engine, floors["mine"], {"u": agent_id})),
               bench.time("stock", lambda: agent.get(stock_mine_url)))
    # The cases the pages and actions work on are added now, after the lists were measured on the data
    # set itself (they take the newest numbers, so they would fill page 1; measured separately below).
    with app.app_context():
        fixtures = dataset.add_fixtures(app, size, assign_count=repeat + 3, accept_count=repeat + 3)
    with_floor(bench.time("Order Cases list, page of 500-line cases", lambda: agent.get("/ordercaseview/list/")),
               bench.time("floor", SqlCall(engine, floors["list"], {})),
               bench.time("stock", lambda: agent.get("/stockordercaseview/list/")))
    for lines, case_id in ((50, fixtures.case_50), (500, fixtures.case_500)):
        with_floor(bench.time(f"Case page, {lines} lines", lambda c=case_id: agent.get(f"/ordercases/{c}")),
                   bench.time("floor", SqlCall(engine, floors["case"], {"c": case_id})))
    rows_before = len(rows)
    rows.append(bench.time(
        "Assign to me, 500 lines",
        lambda case_id: agent.post(f"/ordercases/{case_id}/action/assign-to-me", data={
            "csrf_token": token, "version": str(fixtures.versions[("order_case", case_id)])}),
        expect=(302,), arguments=fixtures.assign_cases))
    rows.append(bench.time(
        "Accept one line (case of 500+)",
        lambda line_id: agent.post(f"/ordercases/line/{line_id}/action/accept", data={
            "csrf_token": token, "version": str(fixtures.versions[("order_case_line", line_id)]),
            "approved_quantity": "", "resolution_notes": "Approved by the benchmark"}),
        expect=(302,), arguments=fixtures.accept_lines))
    api = app.test_client()
    headers = {"Authorization": f"Bearer {api_key}"}
    rows.append(bench.time("TMF622 POST, 10 items", lambda i: api.post(P622, json=tmf_body(i), headers=headers),
                           expect=(201,), arguments=list(range(repeat + 3))))
    rows.append(bench.time("TMF622 list, state=completed, limit=20",
                           lambda: api.get(f"{P622}?state=completed&limit=20", headers=headers)))
    for row in rows[rows_before:]:
        report(row)
    verify_actions(app, fixtures)
    dataset.remove_run_records(engine, size)  # leave the data set as built (for load tests too)
    return rows


def report(row: dict) -> None:
    print(f"  {row['label']}: p50 {row['p50']:.1f} ms, p95 {row['p95']:.1f} ms, p99 {row['p99']:.1f} ms, "
          f"{row['statements']} SQL, garbage collector {row['gc_ms_per_run']:.1f} ms a run "
          f"(longest pause {row['gc_longest_ms']:.1f} ms)", flush=True)


def build_only(size_name: str, db: str, rebuild: bool) -> None:
    from bench import dataset

    url = database_url(size_name, db)
    prepare_database(url, rebuild)
    app = make_app(url)
    from app.core.extensions import db as database

    with app.app_context():
        if not dataset.is_built(database.engine, dataset.SIZES[size_name]):
            dataset.build(app, dataset.SIZES[size_name])


def verify_actions(app, fixtures) -> None:
    """The timed actions really happened (a redirect alone could be a refusal)."""
    from sqlalchemy import bindparam, text

    from app.core.extensions import db

    ids = bindparam("ids", expanding=True)
    with app.app_context():
        assigned = db.session.execute(text(
            "SELECT count(*) FROM order_case WHERE state = 'Work in Progress' AND id IN :ids").bindparams(ids), {"ids": fixtures.assign_cases}).scalar()
        accepted = db.session.execute(text(
            "SELECT count(*) FROM order_case_line WHERE state = 'Resolved - Accepted' AND id IN :ids").bindparams(ids), {"ids": fixtures.accept_lines}).scalar()
        moved = db.session.execute(text(
            "SELECT count(*) FROM order_case_line WHERE state = 'Work in Progress' AND case_id IN :ids").bindparams(ids), {"ids": fixtures.assign_cases}).scalar()
        db.session.remove()
    if assigned != len(fixtures.assign_cases) or accepted != len(fixtures.accept_lines) \
            or moved != 500 * len(fixtures.assign_cases):
        raise SystemExit(f"actions did not all happen: {assigned} cases assigned, {moved} lines moved, "
                         f"{accepted} lines accepted")


def render(rows: list[dict], size: str, db: str, reference: dict | None, load_at_start: float) -> str:
    from bench.dataset import SIZES

    s = SIZES[size]
    header = (f"# Benchmark {size} on {db}\n\n{s.cases:,} cases, {s.case_lines:,} case lines, {s.orders:,} orders, "
              f"{s.order_lines:,} order lines; {rows[0]['runs']} timed runs per row after 3 warm-up runs; "
              f"{time.strftime('%Y-%m-%d %H:%M')} on {os.cpu_count()} cores, load average "
              f"{load_at_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (other work on the machine "
              "inflates the times; the CPU columns are this process's own CPU time, which waiting for a core "
              "does not inflate).\n\n")
    lines = ["| Request | p50 ms | p95 ms | p99 ms | p95 / p50 | CPU p50 / p95 ms | GC ms a run (longest pause) "
             "| SQL statements | floor p50 ms | × floor | stock FAB p50 ms (SQL) | × stock | × S | target |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        floor = row.get("floor_p50")
        stock = row.get("stock_p50")
        ref = (reference or {}).get(row["label"])
        statements = str(row["statements"]) if row["statements"] == row["statements_min"] else \
            f"{row['statements_min']}–{row['statements']}"
        lines.append("| " + " | ".join([
            row["label"], f"{row['p50']:.1f}", f"{row['p95']:.1f}", f"{row['p99']:.1f}",
            f"{row['p95'] / row['p50']:.2f}", f"{row['cpu_p50']:.1f} / {row['cpu_p95']:.1f}",
            f"{row['gc_ms_per_run']:.1f} ({row['gc_longest_ms']:.1f})", statements,
            f"{floor:.2f}" if floor else "—", f"{row['p50'] / floor:.1f}" if floor else "—",
            f"{stock:.1f} ({row['stock_statements']})" if stock else "—",
            f"{row['p50'] / stock:.2f}" if stock else "—",
            f"{row['p50'] / ref['p50']:.2f}" if ref and size != "S" else "—",
            TARGETS.get(row["label"], ""),
        ]) + " |")
    return header + "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["S", "L"], default="S")
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true", help="drop the data set and build it again")
    parser.add_argument("--build-only", action="store_true", help="build the data set, measure nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(BENCH_DIR.parent))
    if args.build_only:
        build_only(args.size, args.db, args.rebuild)
        return 0
    load_at_start = os.getloadavg()[0]
    rows = run(args.size, args.db, args.repeat, args.rebuild)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    reference_file = RESULTS_DIR / f"S-{args.db}.json"
    reference = None
    if args.size != "S" and reference_file.exists():
        reference = {row["label"]: row for row in json.loads(reference_file.read_text())}
    table = render(rows, args.size, args.db, reference, load_at_start)
    print(table)
    (RESULTS_DIR / f"{args.size}-{args.db}.md").write_text(table)
    (RESULTS_DIR / f"{args.size}-{args.db}.json").write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
