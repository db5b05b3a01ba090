"""Benchmark data sets on the migrated schema: S (10 000 cases) and L (1 000 000 cases).

Shape (per size): accounts with one contact and one site each; orders of 4 lines; cases of 3 lines, each
case on the lines of one order (single-order scope). The first half of the cases is spread over every
state (about 20 % open); the second half is Closed or Cancelled, so an order line is never on two open
cases. Line states follow their case's state and order line states their order's state. Numbers are
prefix + 7 digits like the application's, and the PostgreSQL sequences / SQLite ``number_sequence``
counters (and PostgreSQL id sequences) are moved past them, so records created afterwards continue the
numbering.

``fixtures`` adds, on every benchmark run, the cases the measured requests act on (a 50-line and a
500-line case in Work in Progress, fresh 500-line New cases for Assign to me, fresh lines to Accept).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import text

from .sql import Dialect, q

CITIES = ["Berlin", "Chicago", "Lyon", "Osaka", "Toronto"]
OFFERINGS = 20
SPECIFICATIONS = 10
ORDER_LINES_PER_ORDER = 4
CASE_LINES_PER_CASE = 3
CHUNK = 250_000
PASSWORD = "bench-password-1"

# Order state by order id % 10, and the state of its lines.
ORDER_STATES = ["New", "Draft", "In progress", "In progress", "In progress", "In progress", "In progress",
                "Completed", "Completed", "Cancelled"]
ORDER_LINE_STATES = ORDER_STATES
# Case state by case id % 20 for the first half of the cases; the second half by id % 10.
OPEN_HALF_STATES = ["Draft", "New", "New", "Work in Progress", "Work in Progress", "Work in Progress",
                    "Awaiting Info", "Resolved"] + ["Closed"] * 10 + ["Cancelled"] * 2
CLOSED_HALF_STATES = ["Cancelled"] + ["Closed"] * 9
LINE_STATE_OF_CASE = {
    "Draft": "'Draft'", "New": "'New'", "Work in Progress": "'Work in Progress'",
    "Awaiting Info": "'Awaiting Info'", "Cancelled": "'Cancelled'",
    # Resolved and Closed cases: the delivery-date line was denied, the others accepted.
    "Resolved": None, "Closed": None,
}
REQUEST_TYPES = ["Quantity change", "Delivery date change", "Inquiry"]


@dataclass(frozen=True)
class Size:
    name: str
    cases: int
    accounts: int
    agents: int

    @property
    def orders(self) -> int:
        return self.cases // 2

    @property
    def order_lines(self) -> int:
        return self.orders * ORDER_LINES_PER_ORDER

    @property
    def case_lines(self) -> int:
        return self.cases * CASE_LINES_PER_CASE


SIZES = {
    "S": Size("S", cases=10_000, accounts=100, agents=10),
    "L": Size("L", cases=1_000_000, accounts=10_000, agents=50),
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- who works the desk ------------------------------------------------------------------------------


def agent_name(index: int) -> str:
    return f"bench_agent{index:02d}"


def ensure_users(size: Size) -> dict:
    """The agents (bench_agent00 is the one the benchmark logs in as) and an integrator with an API key."""
    from flask import current_app

    sm = current_app.appbuilder.sm
    agent_role = sm.find_role("agent")
    ids = []
    for index in range(size.agents):
        user = sm.find_user(username=agent_name(index)) or sm.add_user(
            agent_name(index), "Agent", f"{index:02d}", f"{agent_name(index)}@bench.test", [agent_role], PASSWORD)
        ids.append(user.id)
    integrator = sm.find_user(username="bench_integrator") or sm.add_user(
        "bench_integrator", "Ingrid", "Bench", "bench_integrator@bench.test", [sm.find_role("integrator")], PASSWORD)
    return {"agents": ids, "integrator": integrator.id}


def api_key_for(username: str) -> str:
    from flask import current_app

    sm = current_app.appbuilder.sm
    return sm.create_api_key(sm.find_user(username=username), "benchmark")["key"]


# -- generators --------------------------------------------------------------------------------------


def _audit(d: Dialect, minutes: str, user: str = "NULL") -> dict:
    return {"created_on": d.timestamp(minutes), "changed_on": d.timestamp(minutes), "created_by_id": user,
            "changed_by_id": user, "version": "1"}


def _offering_of_line(line: str) -> str:
    return f"((({line}) - 1) % {OFFERINGS} + 1)"


def _quantity_of_line(line: str) -> str:
    return f"(1 + ({line}) % 5)"


def _price_of_offering(offering: str) -> str:
    return f"(10 + {offering})"


def order_total(order_id: int, lines: int) -> int:
    """The total of an order generated with *lines* lines (same formulas as the SQL)."""
    first = (order_id - 1) * lines + 1
    return sum((1 + line % 5) * (10 + ((line - 1) % OFFERINGS + 1)) for line in range(first, first + lines))


def insert_reference_data(conn, d: Dialect, size: Size) -> None:
    a = size.accounts
    conn.execute(text(d.insert_series("account", {
        "id": "i", "number": d.number("ACC", "i"), "name": "'Account ' || i", "active": "TRUE",
        "industry": Dialect.pick("i % 3", [q("Retail"), q("Manufacturing"), q("Logistics")]), **_audit(d, "0"),
    }, 1, a)))
    conn.execute(text(d.insert_series("contact", {
        "id": "i", "number": d.number("CON", "i"), "account_id": "i", "first_name": "'Pat'",
        "last_name": "'Buyer ' || i", "email": "'buyer' || i || '@example.test'", "active": "TRUE", **_audit(d, "0"),
    }, 1, a)))
    conn.execute(text(d.insert_series("location", {
        "id": "i", "number": d.number("LOC", "i"), "name": "'Site ' || i", "street": "i || ' Main Street'",
        "city": Dialect.pick("i % 5", [q(c) for c in CITIES]), "country": "'US'", "account_id": "i",
        **_audit(d, "0"),
    }, 1, a)))
    conn.execute(text("UPDATE account SET primary_contact_id = id, shipping_location_id = id, "
                      "billing_location_id = id"))
    conn.execute(text(d.insert_series("product_specification", {
        "id": "i", "number": d.number("PSPEC", "i"), "name": "'Specification ' || i", "kind": "'product'",
        "active": "TRUE", **_audit(d, "0"),
    }, 1, SPECIFICATIONS)))
    conn.execute(text(d.insert_series("product_offering", {
        "id": "i", "number": d.number("PO", "i"), "name": "'Offering ' || i",
        "specification_id": f"((i - 1) % {SPECIFICATIONS} + 1)", "unit_price": _price_of_offering("i"),
        "currency": "'USD'", "price_type": "'one-time'", "active": "TRUE", **_audit(d, "0"),
    }, 1, OFFERINGS)))


def order_columns(d: Dialect, accounts: int, id0: int, num0: int, lines: int, state: str | None) -> dict:
    """customer_order rows for i = 1…n: id id0+i, totals matching *lines* generated lines each."""
    oid = f"({id0} + i)"
    account = f"(({oid} - 1) % {accounts} + 1)"
    state_expr = q(state) if state else Dialect.pick(f"{oid} % 10", [q(s) for s in ORDER_STATES])
    if lines == ORDER_LINES_PER_ORDER and id0 == 0:
        # Line ids 4(o-1)+1…4(o-1)+4: the total depends on o % 5 only (20 offerings, quantities mod 5).
        total = Dialect.pick(f"{oid} % 5", [str(order_total(o, lines)) for o in (5, 1, 2, 3, 4)])
    else:
        total = "0"  # fixtures: summed from their lines once those exist
    return {
        "id": oid, "number": d.number("ORD", f"{num0} + i"), "account_id": account, "contact_id": account,
        "order_type": f"(CASE WHEN {oid} % 10 = 9 THEN 'service' ELSE 'product' END)",
        "channel": Dialect.pick(f"{oid} % 5", [q("agent"), q("portal"), q("TMF622"), q("quote"), q("agent")]),
        "tmf_id": d.uuid_like(oid), "state": state_expr, "priority": "4", "currency": "'USD'",
        "order_date": d.timestamp(f"{oid} * 2"), "expected_delivery_date": d.date(f"30 + {oid} % 60"),
        "shipping_location_id": account, "total_one_time": total, "total_recurring": "0", "total_amount": total,
        "description": "'Order of account ' || " + account, **_audit(d, f"{oid} * 2"),
    }


def order_line_columns(d: Dialect, order_id0: int, id0: int, num0: int, lines: int, accounts: int,
                       state: str | None) -> dict:
    lid = f"({id0} + i)"
    oid = f"({order_id0} + (i - 1) / {lines} + 1)"
    offering = _offering_of_line(lid)
    state_expr = q(state) if state else Dialect.pick(f"{oid} % 10", [q(s) for s in ORDER_LINE_STATES])
    return {
        "id": lid, "number": d.number("ORDL", f"{num0} + i"), "order_id": oid, "offering_id": offering,
        "specification_id": f"(({offering} - 1) % {SPECIFICATIONS} + 1)", "action": "'add'",
        "quantity": _quantity_of_line(lid), "unit_price": _price_of_offering(offering), "price_type": "'one-time'",
        "state": state_expr, "expected_delivery_date": d.date(f"30 + {oid} % 60"),
        "location_id": f"(({oid} - 1) % {accounts} + 1)", **_audit(d, f"{oid} * 2"),
    }


def _case_state(cid: str, orders: int) -> str:
    return (f"(CASE WHEN {cid} <= {orders} THEN {Dialect.pick(f'{cid} % 20', [q(s) for s in OPEN_HALF_STATES])} "
            f"ELSE {Dialect.pick(f'{cid} % 10', [q(s) for s in CLOSED_HALF_STATES])} END)")


def _assignee(cid: str, state_expr: str, agents: list[int]) -> str:
    return (f"(CASE WHEN {state_expr} IN ('Draft', 'New') THEN NULL "
            f"ELSE {Dialect.pick(f'{cid} % {len(agents)}', [str(a) for a in agents])} END)")


def case_columns(d: Dialect, id0: int, num0: int, order_id0: int, orders: int, accounts: int, agents: list[int],
                 state: str | None, assignee: int | None = None) -> dict:
    cid = f"({id0} + i)"
    oid = f"({order_id0} + ((i - 1) % {orders}) + 1)"
    account = f"(({oid} - 1) % {accounts} + 1)"
    state_expr = q(state) if state else _case_state(cid, orders)
    assigned = str(assignee) if assignee else ("NULL" if state else _assignee(cid, state_expr, agents))
    resolved = f"(CASE WHEN {state_expr} IN ('Resolved', 'Closed') THEN {d.timestamp(f'{cid} + 2880')} END)"
    return {
        "id": cid, "number": d.number("ORDCS", f"{num0} + i"), "account_id": account, "contact_id": account,
        "service_id": f"(1 + {cid} % 2)", "scope": q("Specific line items, Single order"), "order_id": oid,
        "origin": q("Order Line Items"),
        "short_description": Dialect.pick(f"{cid} % 4", [q("Customer asks for a different quantity"),
                                                         q("Delivery needed earlier"), q("Price disputed"),
                                                         q("Question about the order")]) + f" || ' #' || {cid}",
        "priority": f"(1 + {cid} % 4)", "state": state_expr, "assigned_to_id": assigned,
        "needs_attention": "FALSE", "opened_at": d.timestamp(cid),
        "resolution_code": f"(CASE WHEN {state_expr} IN ('Resolved', 'Closed') THEN 'Partially approved' END)",
        "resolved_at": resolved,
        "closed_at": f"(CASE WHEN {state_expr} = 'Closed' THEN {d.timestamp(f'{cid} + 5760')} END)",
        **_audit(d, cid),
    }


def case_line_columns(d: Dialect, case_id0: int, id0: int, num0: int, per_case: int, order_id0: int,
                      orders: int, order_line_id0: int, lines_per_order: int, agents: list[int],
                      case_state: str | None, assignee: int | None = None) -> dict:
    lid = f"({id0} + i)"
    local_case = f"((i - 1) / {per_case} + 1)"
    cid = f"({case_id0} + {local_case})"
    j = f"((i - 1) % {per_case} + 1)"
    local_order = f"((({local_case}) - 1) % {orders} + 1)"
    oid = f"({order_id0} + {local_order})"
    order_line = f"({order_line_id0} + ({local_order} - 1) * {lines_per_order} + {j})"
    cstate = q(case_state) if case_state else _case_state(cid, orders)
    accepted_or_denied = f"(CASE WHEN {j} % 3 = 2 THEN 'Resolved - Denied' ELSE 'Resolved - Accepted' END)"
    state = "(CASE " + " ".join(
        f"WHEN {cstate} = {q(s)} THEN {v or accepted_or_denied}" for s, v in LINE_STATE_OF_CASE.items()) + " END)"
    rtype = Dialect.pick(f"{j} % 3", [q("Inquiry"), q("Quantity change"), q("Delivery date change")])
    quantity = _quantity_of_line(order_line)
    if assignee:
        assigned = str(assignee)
    elif case_state:
        assigned = "NULL"
    else:
        assigned = _assignee(cid, cstate, agents)
    return {
        "id": lid, "number": d.number("ORDCSL", f"{num0} + i"), "case_id": cid, "order_id": oid,
        "order_line_id": order_line, "request_type": rtype, "reason_code": q("Other"), "state": state,
        "priority": "4", "assigned_to_id": assigned, "ordered_quantity": quantity,
        "requested_quantity": f"(CASE WHEN {j} % 3 = 1 THEN {quantity} + 1 END)",
        "requested_delivery_date": f"(CASE WHEN {j} % 3 = 2 THEN {d.date('90')} END)",
        "current_unit_price": _price_of_offering(_offering_of_line(order_line)), "order_line_version": "1",
        **_audit(d, cid),
    }


def _chunks(total: int):
    first = 1
    while first <= total:
        last = min(total, first + CHUNK - 1)
        yield first, last
        first = last + 1


def _insert_chunked(engine, d: Dialect, table: str, total: int, columns_for) -> None:
    """Insert rows 1…total in chunks (one transaction each) so progress shows and memory stays flat."""
    started = time.perf_counter()
    for first, last in _chunks(total):
        with engine.begin() as conn:
            _tune(conn, d)
            conn.execute(text(d.insert_series(table, columns_for(), first, last)))
        log(f"  {table}: {last:,}/{total:,} ({time.perf_counter() - started:.0f} s)")


def _tune(conn, d: Dialect) -> None:
    if d.pg:
        conn.execute(text("SET LOCAL synchronous_commit = off"))
    else:
        conn.exec_driver_sql("PRAGMA cache_size = -262144")


# -- numbering ---------------------------------------------------------------------------------------


NUMBERED = {"account": "ACC", "contact": "CON", "location": "LOC", "product_specification": "PSPEC",
            "product_offering": "PO", "customer_order": "ORD", "order_line_item": "ORDL", "order_case": "ORDCS",
            "order_case_line": "ORDCSL"}


def sync_counters(conn, d: Dialect, tables=NUMBERED) -> None:
    """Move the number sequences / counters (and PostgreSQL id sequences) past the generated rows."""
    for table, prefix in tables.items():
        highest = conn.execute(text(
            f"SELECT max(CAST(substr(number, {len(prefix) + 1}) AS integer)) FROM {table}")).scalar() or 0
        if d.pg:
            conn.execute(text(f"SELECT setval('{table}_number_seq', :v, true)"), {"v": max(highest, 1)})
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT coalesce(max(id), 1) FROM {table}), true)"))
        else:
            updated = conn.execute(text("UPDATE number_sequence SET last_value = :v WHERE name = :n"),
                                   {"v": highest, "n": table}).rowcount
            if not updated:
                conn.execute(text("INSERT INTO number_sequence (name, last_value) VALUES (:n, :v)"),
                             {"n": table, "v": highest})


def claim_numbers(conn, d: Dialect, table: str, count: int) -> int:
    """Reserve *count* consecutive human numbers of *table*; returns the one before the first."""
    if d.pg:
        last = conn.execute(text(f"SELECT setval('{table}_number_seq', nextval('{table}_number_seq') + :n - 1)"),
                            {"n": count}).scalar()
        return last - count
    last = conn.execute(text("UPDATE number_sequence SET last_value = last_value + :n WHERE name = :t "
                             "RETURNING last_value"), {"n": count, "t": table}).scalar()
    return last - count


def max_id(conn, table: str) -> int:
    return conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()


# -- building ----------------------------------------------------------------------------------------


def is_built(engine, size: Size) -> bool:
    with engine.connect() as conn:
        try:
            cases = conn.execute(text("SELECT count(*) FROM (SELECT id FROM order_case WHERE id <= :n) c"),
                                 {"n": size.cases}).scalar()
            marker = conn.execute(text("SELECT count(*) FROM ab_user WHERE username = 'bench_integrator'")).scalar()
        except Exception:  # noqa: BLE001  (no schema yet)
            return False
    return cases == size.cases and marker == 1


def ensure_schema(engine) -> None:
    """Catch a data set up with the (unreleased, edited in place) initial migration: add the indexes and
    nullable columns added since it was built; anything else needs ``--rebuild``."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy.schema import CreateColumn

    from app.core.extensions import metadata
    from app.search.fulltext import is_search_index

    def declared(name, type_, parent_names) -> bool:
        return not (name and is_search_index(name))  # migration 0004_search's full-text tables and indexes

    with engine.begin() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"include_name": declared}), metadata)
        for difference in differences:
            kind = difference[0] if isinstance(difference, tuple) else None
            if kind == "add_index":
                difference[1].create(conn)
            elif kind == "add_column" and (difference[3].nullable or difference[3].server_default is not None):
                column = CreateColumn(difference[3]).compile(dialect=conn.dialect)
                conn.execute(text(f"ALTER TABLE {difference[2]} ADD COLUMN {column}"))
            else:
                raise SystemExit(f"the data set's schema differs from the models ({difference}); run with --rebuild")
        if differences:
            log(f"  schema caught up: {len(differences)} change(s)")


def build(app, size: Size) -> None:
    """Fill an empty migrated database with the *size* data set."""
    from app.core.extensions import db
    from app.sla.clocks import seed_default_sla_definitions

    engine = db.engine
    d = Dialect(engine.dialect.name)
    started = time.perf_counter()
    log(f"building data set {size.name} on {d.name}: {size.cases:,} cases, {size.case_lines:,} case lines, "
        f"{size.orders:,} orders, {size.order_lines:,} order lines")
    users = ensure_users(size)
    seed_default_sla_definitions()
    from app.models import ServiceDefinition

    for name in ("Sales Order Change Request", "Sales Order Dispute"):
        if not db.session.query(ServiceDefinition).filter_by(name=name).first():
            db.session.add(ServiceDefinition(name=name, active=True))
    db.session.commit()
    service_ids = sorted(s.id for s in db.session.query(ServiceDefinition))
    assert service_ids[:2] == [1, 2], "the bench data set expects an empty database"
    db.session.remove()
    with engine.begin() as conn:
        _tune(conn, d)
        insert_reference_data(conn, d, size)
    log("  reference data done")
    agents = users["agents"]
    _insert_chunked(engine, d, "customer_order", size.orders,
                    lambda: order_columns(d, size.accounts, 0, 0, ORDER_LINES_PER_ORDER, None))
    _insert_chunked(engine, d, "order_line_item", size.order_lines,
                    lambda: order_line_columns(d, 0, 0, 0, ORDER_LINES_PER_ORDER, size.accounts, None))
    _insert_chunked(engine, d, "order_case", size.cases,
                    lambda: case_columns(d, 0, 0, 0, size.orders, size.accounts, agents, None))
    _insert_chunked(engine, d, "order_case_line", size.case_lines,
                    lambda: case_line_columns(d, 0, 0, 0, CASE_LINES_PER_CASE, 0, size.orders, 0,
                                              ORDER_LINES_PER_ORDER, agents, None))
    with engine.begin() as conn:
        sync_counters(conn, d)
    log("  counters synchronised; analysing")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    log(f"data set {size.name} built in {time.perf_counter() - started:.0f} s")


BULK_TABLES = ("order_case", "order_case_line", "customer_order", "order_line_item")


def remove_run_records(engine, size: Size) -> None:
    """Delete the cases earlier benchmark runs added, so the case lists start from the data set.

    Every case and case line with an id past the bulk data set goes, with whatever references it. Their
    orders stay: deleting order lines makes PostgreSQL check the unindexed self-references
    (parent_line_id, replaces_line_id) with a scan of the whole table per line.
    """
    from app.core.extensions import metadata

    limits = {"order_case": size.cases, "order_case_line": size.case_lines}
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            conditions = [f"{fk.parent.name} > {limits[fk.column.table.name]}" for fk in table.foreign_keys
                          if fk.column.table.name in limits and table.name not in limits]
            if conditions:
                conn.execute(text(f"DELETE FROM {table.name} WHERE {' OR '.join(conditions)}"))
        for table, limit in limits.items():
            for log_table in ("audit_event", "journal_entry", "notification"):
                conn.execute(text(f"DELETE FROM {log_table} WHERE record_type = :t AND record_id > :n"),
                             {"t": table, "n": limit})
        conn.execute(text(f"DELETE FROM order_case_line WHERE id > {size.case_lines} OR case_id > {size.cases}"))
        conn.execute(text(f"DELETE FROM order_case WHERE id > {size.cases}"))


@dataclass
class Fixtures:
    case_50: int
    case_500: int
    assign_cases: list[int]
    accept_lines: list[int]
    versions: dict  # (table, id) → version, for the forms' version field


def add_fixtures(app, size: Size, assign_count: int, accept_count: int) -> Fixtures:
    """Fresh cases for this run: 50 and 500 lines in Work in Progress, New 500-line cases, lines to accept.

    Each gets its own In progress order with as many lines, so accepting a quantity change is allowed.
    """
    from app.core.extensions import db

    engine = db.engine
    d = Dialect(engine.dialect.name)
    db.session.remove()
    # (lines, count, target state): the accept case holds enough lines for every Accept. Cases are
    # inserted in Draft and taken to their state by the real workflows (audit trail, SLAs attached).
    groups = [(50, 1, "Work in Progress"), (500, 1, "Work in Progress"), (500, assign_count, "New"),
              (max(500, accept_count), 1, "Work in Progress")]
    made = []
    with engine.begin() as conn:
        for lines, count, _target in groups:
            order0, oline0, case0, cline0 = (max_id(conn, t) for t in
                                             ("customer_order", "order_line_item", "order_case", "order_case_line"))
            nums = {t: claim_numbers(conn, d, t, n) for t, n in (
                ("customer_order", count), ("order_line_item", count * lines), ("order_case", count),
                ("order_case_line", count * lines))}
            conn.execute(text(d.insert_series("customer_order", order_columns(
                d, size.accounts, order0, nums["customer_order"], lines, "In progress"), 1, count)))
            conn.execute(text(d.insert_series("order_line_item", order_line_columns(
                d, order0, oline0, nums["order_line_item"], lines, size.accounts, "In progress"), 1, count * lines)))
            conn.execute(text(
                "UPDATE customer_order SET total_amount = (SELECT sum(quantity * unit_price) FROM order_line_item "
                "WHERE order_id = customer_order.id) WHERE id > :o"), {"o": order0})
            conn.execute(text("UPDATE customer_order SET total_one_time = total_amount WHERE id > :o"), {"o": order0})
            conn.execute(text(d.insert_series("order_case", case_columns(
                d, case0, nums["order_case"], order0, count, size.accounts, [], "Draft"), 1, count)))
            conn.execute(text(d.insert_series("order_case_line", case_line_columns(
                d, case0, cline0, nums["order_case_line"], lines, order0, count, oline0, lines, [], "Draft"),
                1, count * lines)))
            # Every line of the fixtures is a quantity change, so Accept has something to apply.
            conn.execute(text("UPDATE order_case_line SET request_type = 'Quantity change', "
                              "requested_quantity = ordered_quantity + 1, requested_delivery_date = NULL "
                              "WHERE id > :l"), {"l": cline0})
            made.append(list(range(case0 + 1, case0 + count + 1)))
        if d.pg:
            for table in ("customer_order", "order_line_item", "order_case", "order_case_line"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}), true)"))
        accept_case = made[3][0]
        accept_lines = [row[0] for row in conn.execute(text(
            "SELECT id FROM order_case_line WHERE case_id = :c ORDER BY id LIMIT :n"),
            {"c": accept_case, "n": accept_count})]
    from sqlalchemy import select

    from app import workflows as wf
    from app.models import OrderCase, OrderCaseLine

    user = current_user_for(agent_name(0))
    for (_lines, _count, target), case_ids in zip(groups, made):
        for case_id in case_ids:
            wf.submit_case(case_id, user)
            if target == "Work in Progress":
                wf.assign_case_to_me(case_id, user)
    versions = {("order_case", case_id): version for case_id, version in db.session.execute(
        select(OrderCase.id, OrderCase.version).where(OrderCase.id.in_(made[2])))}
    versions.update({("order_case_line", line_id): version for line_id, version in db.session.execute(
        select(OrderCaseLine.id, OrderCaseLine.version).where(OrderCaseLine.id.in_(accept_lines)))})
    db.session.remove()
    return Fixtures(case_50=made[0][0], case_500=made[1][0], assign_cases=made[2], accept_lines=accept_lines,
                    versions=versions)


def current_user_for(username: str):
    from flask import current_app

    return current_app.appbuilder.sm.find_user(username=username)
