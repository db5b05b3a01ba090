"""JSON Patch (RFC 6902), the PATCH format TMF630 makes optional beside merge patch and TMF622 v5 declares.

A JSON Patch is applied to the resource as the client sees it and turned into the merge patch (RFC 7386)
that makes the same change, so that both formats go through one set of rules for what may change.
"""
from __future__ import annotations

import copy
from typing import Any

from app.tmf.common import TmfError, refuse_nul_characters

OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


def apply(document: dict, operations: Any) -> dict:
    """*document* with *operations* applied in order (a copy); 400 for a malformed patch or a path that does
    not exist, 409 for a failed ``test``."""
    if not isinstance(operations, list):
        raise TmfError(400, "Invalid body", "A JSON Patch is an array of operations (RFC 6902)")
    refuse_nul_characters(operations, "the request body")
    result = copy.deepcopy(document)
    for index, operation in enumerate(operations):
        where = f"operation {index}"
        if not isinstance(operation, dict) or operation.get("op") not in OPERATIONS:
            raise TmfError(400, "Invalid JSON Patch", f"{where}: op must be one of {', '.join(OPERATIONS)}")
        path = _pointer(operation.get("path"), f"{where}.path")
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
    if not isinstance(result, dict):
        raise TmfError(400, "Invalid JSON Patch", "the patched resource must remain an object")
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
