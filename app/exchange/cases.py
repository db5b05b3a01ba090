"""Order cases across the bridge.

A case the consumer submits on an exchanged order is mirrored to the provider as a case on the
provider's order, its order-line lines with their requested changes included, keyed by the consumer's
case and line numbers on both sides. A requested address crosses as the address it names (the provider
finds or adds it among the consumer account's locations); a wrong-item replacement crosses as the
provider's offering it is a copy of, and one the provider did not publish is refused with the reason.
Header lines (whole orders on a Multiple-orders case) do not cross: such a case stays on its side. Comments flow both ways (work notes never leave their side). Every
change of the provider's case or its lines sends the whole case — states, approved values, resolution
notes and the changes applied to the order — numbered per case; the consumer's copy converges on it
through the case workflows (start work, accept with the provider's approved values so the same change
is applied to the consumer's order, deny, cancel, reopen, resolve). The consumer's Accept solution
closes the provider's case; Reject solution reopens it with the reason.
"""
from __future__ import annotations

from sqlalchemy import select, update

from app import workflows
from app.core.choices import CaseOrigin, CaseState, JournalKind, LineState, Scope
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.core.workflow_base import add_journal_entry, as_text
from app.exchange.models import (
    ExchangeCase,
    ExchangeCaseLine,
    ExchangeConnection,
    ExchangeOffering,
    ExchangeOrder,
    ExchangePublication,
)
from app.exchange.outbox import queue_message
from app.models import (
    CustomerOrder,
    JournalEntry,
    Location,
    OrderCase,
    OrderCaseLine,
    OrderLineItem,
    ProductOffering,
    ServiceDefinition,
)
from app.orders.changes import changes_by_case_line

CASE_MESSAGE = "orderCase"
CASE_UPDATE_MESSAGE = "orderCaseUpdate"
CASE_COMMENT_MESSAGE = "orderCaseComment"
CASE_SOLUTION_MESSAGE = "orderCaseSolution"
# The requested change of a line, as it crosses (locations and offerings are each side's own records and
# cross separately, see _requested_records).
LINE_FIELDS = ("request_type", "reason_code", "short_description", "requested_quantity", "requested_delivery_date",
               "disputed_unit_price")
ADDRESS_FIELDS = ("name", "street", "city", "state", "postal_code", "country")
APPROVED_FIELDS = ("approved_quantity", "approved_delivery_date", "approved_unit_price")


def _link(case_id: int) -> ExchangeCase | None:
    return db.session.scalars(select(ExchangeCase).where(ExchangeCase.case_id == case_id)).first()


def _line_keys(link: ExchangeCase) -> dict[int, str]:
    return dict(db.session.execute(select(ExchangeCaseLine.case_line_id, ExchangeCaseLine.remote_key)
                                   .where(ExchangeCaseLine.exchange_case_id == link.id)).all())


def changes_noted(notes: dict) -> None:
    """Queue what changed cases and new comments mean for the other side (before the changing commit)."""
    moves: dict[int, tuple] = notes.get("case_moves", {})
    case_ids = set(moves)
    if notes.get("case_lines"):
        case_ids |= set(db.session.scalars(select(OrderCaseLine.case_id)
                                           .where(OrderCaseLine.id.in_(notes["case_lines"]))))
    relayed_rejections = set()
    for case_id in sorted(case_ids):
        case = db.session.get(OrderCase, case_id)
        link = _link(case_id)
        old, new = moves.get(case_id, (None, None))
        if link is None:
            if new == CaseState.NEW and old == CaseState.DRAFT:
                _send_case(case)
        elif link.connection.is_provider:
            _send_update(link, case)
        elif old == CaseState.RESOLVED and new in (CaseState.CLOSED, CaseState.WORK_IN_PROGRESS):
            accepted = new == CaseState.CLOSED
            reason = None if accepted else _latest_comment(case_id)
            if reason is not None:
                relayed_rejections.add(reason.id)
            queue_message(link.connection, CASE_SOLUTION_MESSAGE, {
                "case": link.remote_key, "accepted": accepted, "reason": reason.text if reason else None,
            }, f"{case.number} solution {'accepted' if accepted else 'rejected'}")
    for entry_id in sorted(notes.get("journal", set()) - relayed_rejections):
        _send_comment(db.session.get(JournalEntry, entry_id))


def _latest_comment(case_id: int) -> JournalEntry | None:
    return db.session.scalars(select(JournalEntry).where(JournalEntry.case_id == case_id,
                                                         JournalEntry.kind == JournalKind.COMMENT)
                              .order_by(JournalEntry.id.desc()).limit(1)).first()


# ---------------------------------------------------------------- consumer: opening and answering

def _send_case(case: OrderCase) -> None:
    if case.order_id is None:
        return
    order_link = db.session.scalars(select(ExchangeOrder).where(ExchangeOrder.order_id == case.order_id)).first()
    if order_link is None or order_link.connection.is_provider:
        return
    lines = [line for line in case.lines if line.order_line_id is not None and line.state != LineState.CANCELLED]
    if not lines:
        return
    link = ExchangeCase(connection_id=order_link.connection_id, case_id=case.id, remote_key=case.number,
                        event_sequence=0)
    db.session.add(link)
    db.session.flush()
    db.session.add_all([ExchangeCaseLine(exchange_case_id=link.id, case_line_id=line.id, remote_key=line.number)
                        for line in lines])
    queue_message(order_link.connection, CASE_MESSAGE, {
        "number": case.number,
        "order": case.order.tmf_id,
        "service": case.service.name if case.service else None,
        "short_description": case.short_description,
        "description": case.description,
        "priority": case.priority,
        "contact": case.contact.name if case.contact else None,
        "lines": [{"key": line.number, "order_line": line.order_line.number,
                   **{field: as_text(getattr(line, field)) for field in LINE_FIELDS},
                   **_requested_records(line, order_link.connection)} for line in lines],
    }, case.number)


def _requested_records(line: OrderCaseLine, connection: ExchangeConnection) -> dict:
    """The requested address and replacement offering, which are each side's own records: the address
    crosses as what it says, the replacement as the provider's offering number it is a copy of."""
    crossing = {}
    if line.requested_location is not None:
        location = line.requested_location
        crossing["requested_address"] = {field: getattr(location, field) for field in ADDRESS_FIELDS}
    if line.replacement_offering is not None:
        remote_id = db.session.scalar(select(ExchangeOffering.remote_id).where(
            ExchangeOffering.offering_id == line.replacement_offering_id,
            ExchangeOffering.connection_id == connection.id))
        crossing["replacement_offering"] = {"id": remote_id, "name": line.replacement_offering.name}
    return crossing


def _send_comment(entry: JournalEntry | None) -> None:
    if entry is None or entry.kind != JournalKind.COMMENT or entry.case_id is None:
        return
    link = _link(entry.case_id)
    if link is None:
        return
    line_key = None
    if entry.record_type == OrderCaseLine.__tablename__:
        line_key = _line_keys(link).get(entry.record_id)
    author = entry.author
    queue_message(link.connection, CASE_COMMENT_MESSAGE, {
        "case": link.remote_key, "line": line_key, "text": entry.text,
        "author": (f"{author.first_name or ''} {author.last_name or ''}".strip() or author.username) if author else None,
    }, f"comment on {link.remote_key}")


# ---------------------------------------------------------------- provider: mirroring and reporting

def receive_case(connection: ExchangeConnection, payload: dict, actor) -> None:
    """Open the mirror of the consumer's case on our order: created, its lines filled in and submitted in
    the one transaction the inbox applies a message in, so no Draft is left if anything fails (a Draft
    left by an older version is finished here)."""
    if not connection.is_provider:
        raise InvalidInput("This instance is not the provider on this connection; it takes no cases.")
    key = payload.get("number")
    lines = [line for line in payload.get("lines") or [] if isinstance(line, dict) and line.get("key")]
    if not isinstance(key, str) or not key or not lines:
        raise InvalidInput("A mirrored case needs its number and at least one order-line line.")
    order = db.session.scalars(select(CustomerOrder).join(ExchangeOrder, ExchangeOrder.order_id == CustomerOrder.id)
                               .where(ExchangeOrder.connection_id == connection.id,
                                      ExchangeOrder.remote_id == payload.get("order"))).first()
    if order is None:
        raise InvalidInput(f"No order {payload.get('order')} of {connection.name} is known here.")
    by_item = {line.external_item_id: line for line in order.lines}
    missing = [line["order_line"] for line in lines if line.get("order_line") not in by_item]
    if missing:
        raise InvalidInput(f"Order {order.number} has no line for {', '.join(map(str, missing))}.")
    link = db.session.scalars(select(ExchangeCase).where(ExchangeCase.connection_id == connection.id,
                                                         ExchangeCase.remote_key == key)).first()
    if link is None:
        service = db.session.scalars(select(ServiceDefinition).where(ServiceDefinition.active.is_(True))
                                     .order_by((ServiceDefinition.name == payload.get("service")).desc(),
                                               ServiceDefinition.sort_order, ServiceDefinition.id)).first()
        if service is None:
            raise InvalidInput("No active case type (service definition) here to open the case with.")
        description = "\n\n".join(part for part in (
            f"Opened at {connection.name} as {key}" + (f" by {payload['contact']}" if payload.get("contact") else ""),
            payload.get("description") or "") if part)
        case = workflows.create_case(
            actor, service_id=service.id, account_id=connection.account_id, scope=Scope.SINGLE_ORDER,
            origin=CaseOrigin.API, short_description=str(payload.get("short_description") or key)[:200],
            order_id=order.id, order_line_ids=[by_item[line["order_line"]].id for line in lines],
            description=description, priority=payload.get("priority") if payload.get("priority") in (1, 2, 3, 4)
            else None)
        link = ExchangeCase(connection_id=connection.id, case_id=case.id, remote_key=key, event_sequence=0)
        db.session.add(link)
        db.session.flush()
        ours = {line.order_line_id: line.id for line in db.session.get(OrderCase, case.id).lines}
        db.session.add_all([ExchangeCaseLine(exchange_case_id=link.id, remote_key=line["key"],
                                             case_line_id=ours[by_item[line["order_line"]].id]) for line in lines])
        db.session.flush()
    case_id, keys = link.case_id, {key: line_id for line_id, key in _line_keys(link).items()}
    if db.session.get(OrderCase, case_id).state != CaseState.DRAFT:
        return
    for line in lines:
        values = {field: line.get(field) for field in LINE_FIELDS if line.get(field) not in (None, "")}
        values.update(_our_records(connection, line))
        workflows.edit_case_line(keys[line["key"]], actor, None, **values)
    workflows.submit_case(case_id, actor)


def _our_records(connection: ExchangeConnection, line: dict) -> dict:
    """Our records for the address and replacement the consumer asked for: the address is found among (or
    added to) the connection account's locations; the replacement must be an offering published to it."""
    values = {}
    address = line.get("requested_address")
    if isinstance(address, dict) and str(address.get("name") or "").strip():
        wanted = {field: (str(address[field]).strip()[:Location.__table__.c[field].type.length]
                          if address.get(field) not in (None, "") else None) for field in ADDRESS_FIELDS}
        location = db.session.scalars(select(Location).where(
            Location.account_id == connection.account_id,
            *[getattr(Location, field) == value if value is not None else getattr(Location, field).is_(None)
              for field, value in wanted.items()]).order_by(Location.id).limit(1)).first()
        if location is None:
            location = Location(account_id=connection.account_id, **wanted)
            db.session.add(location)
            db.session.flush()
        values["requested_location_id"] = str(location.id)
    replacement = line.get("replacement_offering")
    if isinstance(replacement, dict):
        offering_id = db.session.scalar(
            select(ProductOffering.id).join(ExchangePublication, ExchangePublication.offering_id == ProductOffering.id)
            .where(ExchangePublication.connection_id == connection.id,
                   ProductOffering.number == replacement.get("id"))) if replacement.get("id") else None
        if offering_id is None:
            raise InvalidInput(
                f"Line {line.get('key')} asks for {replacement.get('name') or 'a replacement'} instead of the item "
                f"delivered, which is not an offering {connection.name} has from us: a wrong-item case can only "
                "ask for one of the offerings published to it.")
        values["replacement_offering_id"] = str(offering_id)
    return values


def receive_solution(connection: ExchangeConnection, payload: dict, actor) -> None:
    link = _own_link(connection, payload.get("case"))
    case = db.session.get(OrderCase, link.case_id)
    if payload.get("accepted"):
        if case.state != CaseState.CLOSED:
            workflows.close_case(case.id, actor)
    elif case.state == CaseState.RESOLVED:
        reason = payload.get("reason") or "The customer rejected the solution."
        workflows.record_solution_rejected(case.id, actor, None, f"{connection.name}: {reason}")


def _send_update(link: ExchangeCase, case: OrderCase) -> None:
    sequence = db.session.execute(
        update(ExchangeCase).where(ExchangeCase.id == link.id)
        .values(event_sequence=ExchangeCase.event_sequence + 1).returning(ExchangeCase.event_sequence)
    ).scalar_one()
    keys = _line_keys(link)
    lines = db.session.scalars(select(OrderCaseLine).where(OrderCaseLine.id.in_(keys))
                               .order_by(OrderCaseLine.id)).all()
    applied = changes_by_case_line([line.id for line in lines])
    queue_message(link.connection, CASE_UPDATE_MESSAGE, {
        "case": link.remote_key, "sequence": sequence, "number": case.number, "state": case.state,
        "resolution_code": case.resolution_code, "resolution_notes": case.resolution_notes,
        "lines": [{
            "key": keys[line.id], "number": line.number, "state": line.state,
            "resolution_notes": line.resolution_notes,
            **{field: as_text(getattr(line, field)) for field in APPROVED_FIELDS},
            "changes": [{"field": change.field, "old": change.old_value, "new": change.new_value}
                        for change in applied.get(line.id, [])],
        } for line in lines],
    }, f"{case.number} {case.state}")


# ---------------------------------------------------------------- consumer: following the provider

def _own_link(connection: ExchangeConnection, key) -> ExchangeCase:
    link = db.session.scalars(select(ExchangeCase).where(ExchangeCase.connection_id == connection.id,
                                                         ExchangeCase.remote_key == key)).first()
    if link is None:
        raise InvalidInput(f"No case {key} is mirrored with {connection.name} here.")
    return link


def receive_update(connection: ExchangeConnection, payload: dict, actor) -> None:
    link = _own_link(connection, payload.get("case"))
    sequence = payload.get("sequence")
    if not isinstance(sequence, int):
        raise InvalidInput("A case update carries its sequence number.")
    if sequence <= link.event_sequence:
        return
    link_id, case_id = link.id, link.case_id
    lines = {key: line_id for line_id, key in _line_keys(link).items()}
    for remote in payload.get("lines") or []:
        line_id = lines.get(remote.get("key")) if isinstance(remote, dict) else None
        if line_id is not None:
            _converge_line(line_id, remote, actor)
    case = db.session.get(OrderCase, case_id)
    if payload.get("state") == CaseState.RESOLVED and case.state == CaseState.WORK_IN_PROGRESS and not any(
            line.state in LineState.OPEN for line in case.lines):
        workflows.resolve_case(case_id, actor, None, resolution_code=payload.get("resolution_code"),
                               resolution_notes=payload.get("resolution_notes") or "Resolved by the provider")
    elif payload.get("state") == CaseState.CLOSED and case.state == CaseState.RESOLVED:
        workflows.close_case(case_id, actor)
    link = db.session.get(ExchangeCase, link_id)
    link.event_sequence = sequence
    link.remote_number = str(payload.get("number") or "")[:20] or link.remote_number


def _converge_line(line_id: int, remote: dict, actor) -> None:
    line = db.session.get(OrderCaseLine, line_id)
    state, notes = remote.get("state"), remote.get("resolution_notes")
    if state in LineState.TERMINAL and line.state in LineState.TERMINAL and line.state != state:
        workflows.reopen_line(line_id, actor)
        line = db.session.get(OrderCaseLine, line_id)
    if line.state in LineState.TERMINAL:
        if state in LineState.OPEN:
            workflows.reopen_line(line_id, actor)
        return
    if state == LineState.ACCEPTED:
        if line.order_line is not None and line.order_line_version not in (None, line.order_line.version):
            # The provider decided on its order; our copy of the order line has moved since the line was
            # saved (the provider's progress): save it again so the accepted change applies to what is there.
            workflows.edit_case_line(line_id, actor, None)
        approved = {field: remote.get(field) for field in APPROVED_FIELDS if remote.get(field) not in (None, "")}
        workflows.accept_line(line_id, actor, None, resolution_notes=notes, **approved)
    elif state == LineState.DENIED:
        workflows.deny_line(line_id, actor, None, resolution_notes=notes or "Denied by the provider")
    elif state == LineState.CANCELLED:
        workflows.cancel_line(line_id, actor, None, reason=notes or "Cancelled by the provider")
    elif state in (LineState.WORK_IN_PROGRESS, LineState.AWAITING_INFO) and line.state == LineState.NEW:
        workflows.start_line_work(line_id, actor)


# ---------------------------------------------------------------- both sides

def receive_comment(connection: ExchangeConnection, payload: dict, actor) -> None:
    """A comment from the other side, on the case or the line it was made on, saying who wrote it."""
    key = payload.get("case")
    link = db.session.scalars(select(ExchangeCase).where(ExchangeCase.connection_id == connection.id,
                                                         ExchangeCase.remote_key == key)).first()
    if link is None:
        raise InvalidInput(f"No case {key} is mirrored with {connection.name} here.")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("A comment needs its text.")
    record = db.session.get(OrderCase, link.case_id)
    if payload.get("line"):
        line_id = db.session.scalar(select(ExchangeCaseLine.case_line_id).where(
            ExchangeCaseLine.exchange_case_id == link.id, ExchangeCaseLine.remote_key == payload["line"]))
        record = db.session.get(OrderCaseLine, line_id) if line_id else record
    author = payload.get("author")
    signed = f"{author} ({connection.name}): {text.strip()}" if author else f"{connection.name}: {text.strip()}"
    add_journal_entry(record, JournalKind.COMMENT, signed, actor, case_id=link.case_id)


HANDLERS = {
    CASE_MESSAGE: receive_case,
    CASE_UPDATE_MESSAGE: receive_update,
    CASE_COMMENT_MESSAGE: receive_comment,
    CASE_SOLUTION_MESSAGE: receive_solution,
}
