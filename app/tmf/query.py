"""TMF630 Part 2 querying of TMF resources: attribute filters with operators, and sorting.

``attr=a,b`` (equal to any), ``attr.ne=a`` / ``attr!=a``, ``attr.gt=v`` / ``attr>v``, ``attr.gte=v`` /
``attr>=v``, ``attr.lt=v`` / ``attr<v``, ``attr.lte=v`` / ``attr<=v``; ``attr`` may be a dotted path into
nested objects and arrays (an array matches when any element does). ``sort=a,-b`` orders by ``a`` and
then by ``b`` descending. Values compare as the attribute's type: date-times as instants (to the
millisecond the API shows), numbers as numbers, everything else as text. An operator TMF630 names but
this API does not implement is refused with 400 rather than ignored.

The conditions are parsed once here; the order lists push the ones on columns down to SQL and evaluate
the rest on the rendered documents with ``matches``, which is also the reference semantics.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

from flask import request

from app.tmf.common import TmfError, parse_datetime, refuse_nul_characters

PAGING_PARAMETERS = {"fields", "offset", "limit"}
COMPARISONS = {"gt", "gte", "lt", "lte"}
OPERATORS = {"eq", "ne", *COMPARISONS}
# TMF630 operators that are not implemented: refused, so that a client never takes a wrong answer.
UNSUPPORTED_OPERATORS = {"regex", "like", "in", "nin", "contains", "exists", "between"}
SYMBOLS = {">=": "gte", "<=": "lte", "!=": "ne", ">": "gt", "<": "lt"}
_PATH = re.compile(r"^@?[A-Za-z_][\w@-]*(\.@?[A-Za-z_][\w@-]*)*$")
_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")
ONE_MILLISECOND = dt.timedelta(milliseconds=1)


@dataclass(frozen=True)
class Condition:
    path: str
    operator: str
    values: tuple[str, ...]

    @property
    def value(self) -> str:
        return self.values[0]


@dataclass(frozen=True)
class SortKey:
    path: str
    descending: bool


def parse_query(args=None) -> tuple[list[Condition], list[SortKey]]:
    """The filter conditions and sort keys of the request's query string; 400 for what is malformed
    or not supported."""
    args = request.args if args is None else args
    conditions: list[Condition] = []
    sort: list[SortKey] = []
    for name, raw in args.items(multi=True):
        refuse_nul_characters(name, "a query parameter")
        refuse_nul_characters(raw, "a query parameter")
        if name in PAGING_PARAMETERS:
            continue
        if name == "sort":
            sort.extend(_sort_keys(raw))
            continue
        conditions.append(_condition(name, raw))
    return conditions, sort


def _condition(name: str, raw: str) -> Condition:
    path, operator, value = name, "eq", raw
    if name[-1:] in ("<", ">", "!"):  # "a>=v" arrives as name "a>", value "v"
        path, operator = name[:-1], SYMBOLS[name[-1] + "="]
    else:
        symbol = re.search(r"[<>]", name)
        if symbol:  # "a>v" arrives as name "a>v" (and "a>v=w" as "a>v", "w")
            path, rest = name[:symbol.start()], name[symbol.end():]
            operator, value = SYMBOLS[symbol.group()], rest + ("=" + raw if raw else "")
    head, _, last = path.rpartition(".")
    if head and last in OPERATORS:
        if operator != "eq":
            raise TmfError(400, "Invalid filter", f"{name}: use either an operator suffix or a symbol, not both")
        path, operator = head, last
    elif head and last in UNSUPPORTED_OPERATORS:
        raise TmfError(400, "Unsupported filter", f"The operator .{last} is not supported "
                       f"(supported: {', '.join(sorted(OPERATORS))} and =, !=, <, <=, >, >=)")
    if not _PATH.match(path):
        raise TmfError(400, "Invalid filter", f"{name!r} is not an attribute name or dotted path")
    values = tuple(v for v in (_unquote(part) for part in value.split(",")) if v != "")
    if operator in COMPARISONS:
        if len(values) != 1:
            raise TmfError(400, "Invalid filter", f"{path}.{operator} needs exactly one value")
    elif not values:
        raise TmfError(400, "Invalid filter", f"{path} needs a value")
    return Condition(path, operator, values)


def _unquote(value: str) -> str:
    return value.strip().strip('"').strip("'")


def _sort_keys(raw: str) -> list[SortKey]:
    keys = []
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        descending = name.startswith("-")
        name = name.lstrip("+-").strip()
        if not _PATH.match(name):
            raise TmfError(400, "Invalid sort", f"sort: {part.strip()!r} is not an attribute name or dotted path")
        keys.append(SortKey(name, descending))
    return keys


# ---------------------------------------------------------------- typed values

def looks_like_date_time(value: Any) -> bool:
    return isinstance(value, str) and bool(_ISO_DATE_TIME.match(value))


def to_millisecond(moment: dt.datetime) -> dt.datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def instant(value: str, path: str) -> dt.datetime:
    """The filter value as a naive UTC instant at the millisecond the API shows; 400 when it is not one."""
    try:
        return to_millisecond(parse_datetime(value, path))
    except TmfError as error:
        raise TmfError(400, "Invalid filter", f"{path} compares date-times; {value!r} is not one") from error


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _comparable(candidate: Any, value: str, path: str) -> tuple[Any, Any] | None:
    """(candidate, value) as two values of one comparable type, or None when they cannot compare."""
    if looks_like_date_time(candidate):
        try:
            moment = to_millisecond(parse_datetime(candidate, path))
        except TmfError:
            return str(candidate), value
        return moment, instant(value, path)
    if isinstance(candidate, (int, float, Decimal)) and not isinstance(candidate, bool):
        number = _number(value)
        if number is None:
            raise TmfError(400, "Invalid filter", f"{path} compares numbers; {value!r} is not one")
        return _number(candidate), number
    if isinstance(candidate, bool):
        return str(candidate).lower(), value.lower()
    if isinstance(candidate, (dict, list)) or candidate is None:
        return None
    return str(candidate), value


def _satisfies(candidate: Any, operator: str, value: str, path: str) -> bool:
    pair = _comparable(candidate, value, path)
    if pair is None:
        return False
    left, right = pair
    return {"eq": left == right, "gt": left > right, "gte": left >= right,
            "lt": left < right, "lte": left <= right}[operator]


def values_at(node: Any, path: list[str]) -> Iterable[Any]:
    """Every value at the dotted *path* in a document, looking into each element of the arrays passed."""
    if not path:
        if isinstance(node, list):
            yield from node
        elif node is not None:
            yield node
        return
    if isinstance(node, list):
        for element in node:
            yield from values_at(element, path)
    elif isinstance(node, dict) and path[0] in node:
        yield from values_at(node[path[0]], path[1:])


def matches(document: dict, conditions: Iterable[Condition]) -> bool:
    for condition in conditions:
        candidates = list(values_at(document, condition.path.split(".")))
        operator = "eq" if condition.operator == "ne" else condition.operator
        found = any(_satisfies(candidate, operator, value, condition.path)
                    for candidate in candidates for value in condition.values)
        if found == (condition.operator == "ne"):
            return False
    return True


# ---------------------------------------------------------------- sorting

_TYPE_RANK = {dt.datetime: 0, Decimal: 1, str: 2}


def _sort_value(document: dict, key: SortKey) -> tuple:
    """A key that orders one attribute by its type; documents without it come last either way."""
    for candidate in values_at(document, key.path.split(".")):
        if looks_like_date_time(candidate):
            try:
                value: Any = parse_datetime(candidate, key.path)
            except TmfError:
                value = str(candidate)
        elif isinstance(candidate, (int, float)) and not isinstance(candidate, bool):
            value = Decimal(str(candidate))
        elif isinstance(candidate, (dict, list)):
            continue
        else:
            value = str(candidate)
        return (1, _TYPE_RANK[type(value)], value)
    return (0 if key.descending else 2, 0, "")


def sort_documents(documents: list[dict], keys: list[SortKey]) -> list[dict]:
    """Stable multi-key sort: the last key first, so that the first key decides."""
    ordered = list(documents)
    for key in reversed(keys):
        ordered.sort(key=lambda document: _sort_value(document, key), reverse=key.descending)
    return ordered
