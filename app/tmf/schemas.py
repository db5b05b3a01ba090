"""Request bodies checked against the official TM Forum documents (app/tmf/specs/): what the document
refuses — a string where it wants an array, a number where it wants text, a reference that is not an
object — is answered 400 with the path of the first fault, before anything is read or stored.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import best_match

from app.tmf.common import TmfError

SPECS = Path(__file__).resolve().parent / "specs"
# An absolute URI (RFC 3986): a scheme, then only the characters a URI may hold, every % an escape.
# jsonschema checks "uri" only with an optional package; the documents type every href and @schemaLocation
# so, and a client storing "false" there would be handed it back in every later read.
ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")
FORMATS = FormatChecker(formats=())
FORMATS.checks("uri")(lambda value: not isinstance(value, str) or ABSOLUTE_URI.fullmatch(value) is not None)


@lru_cache(maxsize=None)
def document(name: str) -> dict:
    return json.loads((SPECS / name).read_text())


@lru_cache(maxsize=None)
def validator(document_name: str, definition: str, ignore_required: bool = False) -> Draft7Validator:
    definitions = document(document_name)["definitions"]
    schema = definitions[definition]
    if ignore_required:
        # A merge patch names only what changes: the top level's required attributes do not apply.
        schema = {key: value for key, value in schema.items() if key != "required"}
    return Draft7Validator({"definitions": definitions, **schema}, format_checker=FORMATS)


def _without_deletions(patch: Any) -> Any:
    """A merge patch without its nulls (RFC 7386: null deletes the member; it is no value to validate)."""
    if not isinstance(patch, dict):
        return patch
    return {key: _without_deletions(value) for key, value in patch.items() if value is not None}


def check_body(document_name: str, definition: str, body: dict, *, patch: bool = False) -> None:
    """400 naming the first place where *body* (a merge patch when *patch*) breaks the document's
    *definition*."""
    if patch:
        body = _without_deletions(body)
    error = best_match(validator(document_name, definition, patch).iter_errors(body))
    if error is None:
        return
    where = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error.absolute_path).lstrip(".")
    message = error.message if len(error.message) <= 200 else error.message[:200] + "…"
    raise TmfError(400, "Invalid attribute", f"{where or 'the body'}: {message} (per {definition} of the "
                   "official TM Forum document)")
