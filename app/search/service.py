"""Global search: a record number or external id opens its record; words find records by their texts,
grouped by record type, newest first, paged, and only what the user may open.

Every query is indexed: numbers and external ids by their unique or plain B-tree indexes, words by the
full-text indexes of ``fulltext``; a page fetches one row more than it shows to know whether more follow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import url_for
from sqlalchemy import and_, or_, select, union
from sqlalchemy.orm import joinedload

from app.core.choices import JournalKind
from app.core.extensions import db
from app.core.model_base import NUMBERED_MODELS
from app.models import Account, Contact, CustomerOrder, JournalEntry, OrderCase, OrderLineItem
from app.search import fulltext
from app.search.records import KIND_BY_KEY, KIND_BY_MODEL, Kind

# Prefixes of the numbered records a search can open, longest first (ORDCSL before ORDCS before ORD).
PREFIXES = sorted((model.__number_prefix__ for model in NUMBERED_MODELS.values() if model in KIND_BY_MODEL),
                  key=len, reverse=True)
NUMBER = re.compile(r"^\s*({})[\s-]*(\d{{1,7}})\s*$".format("|".join(PREFIXES)), re.IGNORECASE)
EXTERNAL_ID = re.compile(r"^\S{1,100}$")
PER_GROUP = 5
PAGE_SIZE = 20
MAX_PAGE = 500
# Journal entries of these records belong to an order; the others to a case (their case_id).
ORDER_RECORDS = (CustomerOrder.__tablename__, OrderLineItem.__tablename__)
CONVERSATION_RECORDS = ("order_case", "order_case_line")


@dataclass
class Hit:
    number: str
    title: str
    detail: str
    url: str
    when: object = None


@dataclass
class Group:
    key: str
    label: str
    hits: list[Hit]
    more: bool
    page: int = 1


@dataclass
class Result:
    query: str
    words: list[str]
    groups: list[Group] = field(default_factory=list)
    jump_url: str | None = None
    message: str | None = None

    @property
    def total_shown(self) -> int:
        return sum(len(group.hits) for group in self.groups)


def normalized_number(query: str) -> tuple[Kind, str] | None:
    """(kind, number) for a typed record number: any case, optional space or dash, leading zeros optional."""
    match = NUMBER.match(query or "")
    if not match:
        return None
    prefix = match.group(1).upper()
    model = next(model for model in NUMBERED_MODELS.values() if model.__number_prefix__ == prefix)
    return KIND_BY_MODEL[model], f"{prefix}{int(match.group(2)):07d}"


def find_number(query: str, audience) -> tuple[str | None, str | None]:
    """(url, None) for a record number or external id the user may open; (None, message) for a number
    that names nothing they may open (the same words whether it is missing or someone else's)."""
    parsed = normalized_number(query)
    if parsed is not None:
        kind, number = parsed
        record = db.session.scalars(audience.restrict(kind, select(kind.model).where(kind.model.number == number))
                                    ).first()
        if record is not None and audience.may_open(kind, record):
            return audience.url(kind, record), None
        return None, f"No {kind.label.lower().rstrip('s')} numbered {number} that you may open."
    text = (query or "").strip()
    if EXTERNAL_ID.match(text):
        kind = KIND_BY_KEY["orders"]
        # A union, one index each: SQLite answers the OR of the two columns with a scan of every order.
        named = union(select(CustomerOrder.id).where(CustomerOrder.external_id == text),
                      select(CustomerOrder.id).where(CustomerOrder.tmf_id == text))
        orders = db.session.scalars(audience.restrict(kind, select(CustomerOrder).where(
            CustomerOrder.id.in_(named))).limit(2)).all()
        if len(orders) == 1 and audience.may_open(kind, orders[0]):
            return audience.url(kind, orders[0]), None
    return None, None


# -- free text -----------------------------------------------------------------------------------------


def _case_hit(audience, case: OrderCase) -> Hit:
    return Hit(case.number, case.short_description, f"{case.state} · {case.account}",
               audience.url(KIND_BY_MODEL[OrderCase], case), case.opened_at)


def _order_hit(audience, order: CustomerOrder) -> Hit:
    detail = " · ".join(str(part) for part in (order.state, order.account, order.external_id and
                                               f"external id {order.external_id}") if part)
    return Hit(order.number, order.description or order.external_id or order.number, detail,
               audience.url(KIND_BY_MODEL[CustomerOrder], order), order.order_date)


def _account_hit(audience, account: Account) -> Hit:
    return Hit(account.number, account.name, account.industry or "", audience.url(KIND_BY_MODEL[Account], account))


def _contact_hit(audience, contact: Contact) -> Hit:
    return Hit(contact.number, contact.name, f"{contact.account} · {contact.email or ''}".rstrip(" ·"),
               audience.url(KIND_BY_MODEL[Contact], contact))


def _snippet(text: str, words: list[str], width: int = 160) -> str:
    lowered = text.lower()
    start = min((lowered.find(word) for word in words if word in lowered), default=0)
    start = max(0, start - 40)
    piece = text[start:start + width]
    return ("…" if start else "") + piece + ("…" if start + width < len(text) else "")


def _journal_restriction(audience):
    """Journal entries the user may read: of the cases and orders they may open (customers: the
    comments on their own cases, never a work note)."""
    cases, orders = KIND_BY_KEY["cases"], KIND_BY_KEY["orders"]
    if audience.portal:
        return and_(JournalEntry.kind == JournalKind.COMMENT, JournalEntry.record_type.in_(CONVERSATION_RECORDS),
                    JournalEntry.case_id.in_(audience.restrict(cases, select(OrderCase.id))))
    conditions = []
    if audience.may_open(cases):
        conditions.append(JournalEntry.case_id.is_not(None))
    if audience.may_open(orders):
        conditions.append(JournalEntry.record_type.in_(ORDER_RECORDS))
    return or_(*conditions) if conditions else JournalEntry.id.is_(None)


def _journal_hits(audience, entries: list[JournalEntry], words: list[str]) -> list[Hit]:
    line_orders = dict(db.session.execute(select(OrderLineItem.id, OrderLineItem.order_id).where(
        OrderLineItem.id.in_([e.record_id for e in entries if e.record_type == OrderLineItem.__tablename__]))).all())
    cases = {case.id: case for case in db.session.scalars(
        select(OrderCase).where(OrderCase.id.in_([e.case_id for e in entries if e.case_id])))}
    order_ids = {e.id: (e.record_id if e.record_type == CustomerOrder.__tablename__ else line_orders.get(e.record_id))
                 for e in entries if e.record_type in ORDER_RECORDS}
    orders = {order.id: order for order in db.session.scalars(
        select(CustomerOrder).where(CustomerOrder.id.in_([i for i in order_ids.values() if i])))}
    hits = []
    for entry in entries:
        label = "Comment" if entry.kind == JournalKind.COMMENT else "Work note"
        if entry.case_id:
            case = cases[entry.case_id]
            url, number = audience.url(KIND_BY_MODEL[OrderCase], case) + "#activity", case.number
        else:
            order = orders.get(order_ids.get(entry.id))
            if order is None:
                continue
            url, number = audience.url(KIND_BY_MODEL[CustomerOrder], order) + "#journal", order.number
        hits.append(Hit(number, _snippet(entry.text, words), f"{label} by {entry.author or 'the system'}", url,
                        entry.created_on))
    return hits


TEXT_GROUPS = {
    # key: (label, model, kind whose permission applies, loader options, hit builder)
    "cases": ("Order cases", OrderCase, "cases", (joinedload(OrderCase.account),), _case_hit),
    "activity": ("Comments and work notes", JournalEntry, None, (joinedload(JournalEntry.author),), None),
    "accounts": ("Accounts", Account, "accounts", (), _account_hit),
    "contacts": ("Contacts", Contact, "contacts", (joinedload(Contact.account),), _contact_hit),
    "orders": ("Orders", CustomerOrder, "orders", (joinedload(CustomerOrder.account),), _order_hit),
}


def text_group(audience, key: str, words: list[str], page: int, size: int) -> Group | None:
    label, model, kind_key, options, build = TEXT_GROUPS[key]
    if kind_key is not None and not audience.may_open(KIND_BY_KEY[kind_key]):
        return None
    query = fulltext.newest_matching(select(model), model, words)
    query = (query.where(_journal_restriction(audience)) if kind_key is None
             else audience.restrict(KIND_BY_KEY[kind_key], query))
    rows = db.session.scalars(query.options(*options).offset((page - 1) * size).limit(size + 1)).unique().all()
    more, rows = len(rows) > size, rows[:size]
    hits = _journal_hits(audience, rows, words) if build is None else [build(audience, row) for row in rows]
    return Group(key, label, hits, more, page)


def search(query: str, audience, group: str | None = None, page: int = 1) -> Result:
    """Jump to a numbered record, or the records whose texts hold every word, grouped (one group paged
    when *group* names it)."""
    query = fulltext.cleaned(query)
    result = Result(query, fulltext.words_of(query))
    if not query:
        return result
    result.jump_url, result.message = find_number(query, audience)
    if result.jump_url or not result.words:
        return result
    page = min(max(page, 1), MAX_PAGE)
    keys = [group] if group in TEXT_GROUPS else list(TEXT_GROUPS)
    for key in keys:
        found = text_group(audience, key, result.words, page if group else 1, PAGE_SIZE if group else PER_GROUP)
        if found is not None and (found.hits or group):
            result.groups.append(found)
    return result


def more_url(endpoint: str, result: Result, group: Group, page: int) -> str:
    return url_for(endpoint, q=result.query, group=group.key, page=page)
