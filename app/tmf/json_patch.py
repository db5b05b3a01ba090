"""JSON Patch (RFC 6902), the PATCH format TMF630 makes optional beside merge patch and TMF622 v5 declares,
and TMF630's JSON Patch Query, whose paths may pick array members by their attributes
(``/note[?(@.id=='2')]/text``, conditions joined by ``&&``).

A patch is applied to the resource as the client sees it and turned into the merge patch (RFC 7386)
that makes the same change, so that every format goes through one set of rules for what may change.
A query path stands for every member it selects: the operation is applied to each (removals from the
last, so that earlier indices stay valid); a path that selects nothing does not exist.
"""
from __future__ import annotations

import copy
import re
from typing import Any

from app.tmf.common import TmfError, refuse_nul_characters

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")
_SELECTION = re.compile(r"(?P<name>[^\[]*)\[\?\((?P<conditions>.*)\)\]", re.DOTALL)
_CONDITION = re.compile(r"\s*@\.(?P<key>[A-Za-z_@][\w@.]*)\s*==\s*"
                        r"(?P<value>'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?|true|false|null)\s*")
_LITERALS = {"true": True, "false": False, "null": None}


def apply(document: dict, operations: Any, *, query: bool = False) -> dict:
    """*document* with *operations* applied in order (a copy); 400 for a malformed patch or a path that does
    not exist, 409 for a failed ``test``. With *query*, paths may select array members by attribute."""
    if not isinstance(operations, list):
        raise TmfError(400, "Invalid body", "A JSON Patch is an array of operations (RFC 6902)")
    refuse_nul_characters(operations, "the request body")
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        where = f"operation {index}"
        if not isinstance(operation, dict) or operation.get("op") not in OPERATIONS:
            raise TmfError(400, "Invalid JSON Patch", f"{where}: op must be one of {', '.join(OPERATIONS)}")
        if not query:
            result = _apply_one(result, operation, _pointer(operation.get("path"), f"{where}.path"), where)
            continue
        paths = _selected(result, operation.get("path"), f"{where}.path")
        for path in sorted(paths, reverse=operation["op"] == "remove"):
            result = _apply_one(result, operation, [str(token) for token in path], where)
    if not isinstance(result, dict):
        raise TmfError(400, "Invalid JSON Patch", "the patched resource must remain an object")
    return result


def _apply_one(result: Any, operation: dict, path: list[str], where: str) -> Any:
    op = operation["op"]
    if op in ("add", "replace", "test") and "value" not in operation:
        raise TmfError(400, "Invalid JSON Patch", f"{where}: {op} needs a value")
    if op in ("move", "copy"):
        source = _pointer(operation.get("from"), f"{where}.from")
        if op == "move" and path[:len(source)] == source and len(path) > len(source):
            raise TmfError(400, "Invalid JSON Patch", f"{where}: cannot move a value into itself")
        value = copy.deepcopy(_get(result, source, where))
        if op == "move":
            result = _remove(result, source, where)
        result = _add(result, path, value, where)
    elif op == "test":
        if _get(result, path, where) != operation["value"]:
            raise TmfError(409, "JSON Patch test failed", f"{where}: the value at {operation['path']!r} differs")
    elif op == "remove":
        result = _remove(result, path, where)
    elif op == "replace":
        _get(result, path, where)
        result = _add(_remove(result, path, where), path, copy.deepcopy(operation["value"]), where)
    else:
        result = _add(result, path, copy.deepcopy(operation["value"]), where)
    return result


def as_merge_patch(before: dict, after: dict) -> dict:
    """The merge patch that turns *before* into *after*: changed members, and null for removed ones."""
    patch: dict[str, Any] = {key: None for key in before if key not in after}
    for key, value in after.items():
        if key not in before:
            patch[key] = value
        elif before[key] != value:
            both_objects = isinstance(before[key], dict) and isinstance(value, dict)
            patch[key] = as_merge_patch(before[key], value) if both_objects else value
    return patch


def _selected(document: Any, value: Any, where: str) -> list[list]:
    """The concrete paths a JSON Patch Query path selects in *document* (array indices as numbers, so that
    they sort by position); 400 when it selects nothing."""
    if not isinstance(value, str) or (value and not value.startswith("/")):
        raise TmfError(400, "Invalid JSON Patch", f"{where} must be a path (\"\" or starting with /)")
    found: list[tuple[list, Any]] = [([], document)]
    for segment in _segments(value):
        selection = _SELECTION.fullmatch(segment)
        name = selection.group("name") if selection else segment
        name = name.replace("~1", "/").replace("~0", "~")
        conditions = _conditions(selection.group("conditions"), where) if selection else None
        following = []
        for path, node in found:
            if conditions is None:
                following.append((path + [name], None))
                continue
            members = node.get(name) if isinstance(node, dict) else None
            if not isinstance(members, list):
                raise TmfError(400, "Invalid JSON Patch", f"{where}: /{name} is not an array to select from")
            following += [(path + [name, position], member) for position, member in enumerate(members)
                          if all(_attribute(member, key) == wanted for key, wanted in conditions)]
        found = [(path, node if node is not None else _node(document, path)) for path, node in following]
        if not found:
            raise TmfError(400, "Invalid JSON Patch", f"{where}: {value!r} selects nothing")
    return [path for path, _node_ in found]


def _segments(path: str) -> list[str]:
    """The path's segments, split at slashes outside a selection's brackets."""
    segments, current, depth = [], "", 0
    for character in path[1:]:
        if character == "/" and depth == 0:
            segments.append(current)
            current = ""
            continue
        depth += {"[": 1, "]": -1}.get(character, 0)
        current += character
    return segments + [current] if path else []


def _conditions(text: str, where: str) -> list[tuple[str, Any]]:
    conditions = []
    for part in text.split("&&"):
        condition = _CONDITION.fullmatch(part)
        if condition is None:
            raise TmfError(400, "Invalid JSON Patch", f"{where}: {part.strip()!r} is not an @.attribute==value test")
        literal = condition.group("value")
        if literal[0] in "'\"":
            wanted: Any = literal[1:-1]
        elif literal in _LITERALS:
            wanted = _LITERALS[literal]
        else:
            wanted = float(literal) if "." in literal else int(literal)
        conditions.append((condition.group("key"), wanted))
    return conditions


def _attribute(member: Any, key: str) -> Any:
    for name in key.split("."):
        if not isinstance(member, dict):
            return None
        member = member.get(name)
    return member


def _node(document: Any, path: list) -> Any:
    for token in path:
        if isinstance(document, dict):
            document = document.get(token)
        elif isinstance(document, list) and isinstance(token, int) and token < len(document):
            document = document[token]
        else:
            return None
    return document


def _pointer(value: Any, where: str) -> list[str]:
    """An RFC 6901 JSON Pointer as its reference tokens."""
    if not isinstance(value, str) or (value and not value.startswith("/")):
        raise TmfError(400, "Invalid JSON Patch", f"{where} must be a JSON Pointer (\"\" or starting with /)")
    return [token.replace("~1", "/").replace("~0", "~") for token in value.split("/")[1:]]


def _index(container: list, token: str, where: str, *, appending: bool = False) -> int:
    if appending and token == "-":
        return len(container)
    if not token.isdigit() or (token != "0" and token.startswith("0")):
        raise TmfError(400, "Invalid JSON Patch", f"{where}: {token!r} is not an array index")
    index = int(token)
    if index > len(container) or (index == len(container) and not appending):
        raise TmfError(400, "Invalid JSON Patch", f"{where}: index {index} is out of range")
    return index


def _parent(document: Any, path: list[str], where: str) -> Any:
    return _get(document, path[:-1], where)


def _get(document: Any, path: list[str], where: str) -> Any:
    node = document
    for token in path:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, where)]
        else:
            raise TmfError(400, "Invalid JSON Patch", f"{where}: /{'/'.join(path)} does not exist")
    return node


def _add(document: Any, path: list[str], value: Any, where: str) -> Any:
    if not path:
        return value
    parent = _parent(document, path, where)
    if isinstance(parent, dict):
        parent[path[-1]] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, path[-1], where, appending=True), value)
    else:
        raise TmfError(400, "Invalid JSON Patch", f"{where}: /{'/'.join(path[:-1])} holds no members")
    return document


def _remove(document: Any, path: list[str], where: str) -> Any:
    if not path:
        raise TmfError(400, "Invalid JSON Patch", f"{where}: the resource itself cannot be removed")
    parent = _parent(document, path, where)
    if isinstance(parent, dict) and path[-1] in parent:
        del parent[path[-1]]
    elif isinstance(parent, list):
        del parent[_index(parent, path[-1], where)]
    else:
        raise TmfError(400, "Invalid JSON Patch", f"{where}: /{'/'.join(path)} does not exist")
    return document
