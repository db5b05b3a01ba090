"""Where TMF622 v4 and v5 documents differ in shape, over the same order records.

v5 (TMF622 5.0.0) types every object with ``@type``, holds external ids as an array of
ExternalIdentifier, names a related party through ``partyOrPartyRole`` and a place through
``{role, place}``. The order code reads and writes these through the functions here, given the API
profile, so that one implementation serves both versions. May import app.tmf.common only.
"""
from __future__ import annotations

from typing import Any

from app.tmf.common import TmfError, object_list


def reference(api, type_name: str, record_id: str, name: str | None = None) -> dict:
    """A reference to one of our records (a product offering, a specification, a place)."""
    document = {"id": record_id}
    if name is not None:
        document["name"] = name
    if api.version >= 5:
        document["@type"] = type_name
    return document


def party(api, record_id: str, name: str, role: str, referred_type: str) -> dict:
    if api.version < 5:
        return {"id": record_id, "name": name, "role": role, "@referredType": referred_type}
    return {"@type": "RelatedPartyRefOrPartyRoleRef", "role": role,
            "partyOrPartyRole": {"@type": "PartyRef", "id": record_id, "name": name, "@referredType": referred_type}}


def place(api, record_id: str, name: str, role: str) -> dict:
    if api.version < 5:
        return {"id": record_id, "name": name, "role": role}
    return {"@type": "RelatedPlaceRefOrValue", "role": role, "place": reference(api, "PlaceRef", record_id, name)}


def characteristic(api, name: str, value: str | None) -> dict:
    document = {"name": name, "value": value}
    if api.version >= 5:
        # Kept as text whatever type it was sent as: a StringCharacteristic is what the columns hold.
        document["@type"] = "StringCharacteristic"
    return document


def external_ids(api, column: str | None, echoed: Any) -> Any:
    """The order's externalId in *api*'s shape: v4 a string; v5 the ExternalIdentifier array the client
    sent (*echoed*) while its first id is still the order's, else one built from the column."""
    if api.version < 5 or column is None:
        return column
    if isinstance(echoed, list) and echoed and isinstance(echoed[0], dict) and echoed[0].get("id") == column:
        return echoed
    return [{"@type": "ExternalIdentifier", "id": column}]


def external_id(api, value: Any) -> Any:
    """The external id a body's ``externalId`` gives the order's column (v5: the first identifier's id)."""
    if api.version < 5 or value is None:
        return value
    identifiers = object_list(value, "externalId")
    if not identifiers:
        return None
    first = identifiers[0].get("id")
    if not isinstance(first, str):
        raise TmfError(400, "Missing attribute", "externalId[0].id is required (a string)")
    return first


def party_references(api, body: dict) -> list[dict]:
    """The body's related parties as ``{id, @referredType, role, name}`` (v4's shape, which the order
    code matches against accounts and contacts); 400 for a party that names nobody."""
    parties = object_list(body.get("relatedParty"), "relatedParty")
    if api.version < 5:
        for named in parties:
            if not named.get("id") or not named.get("@referredType"):
                raise TmfError(400, "Missing attribute", "every relatedParty needs id and @referredType")
        return parties
    references = []
    for index, related in enumerate(parties):
        named = related.get("partyOrPartyRole")
        if not isinstance(named, dict) or not named.get("id"):
            raise TmfError(400, "Missing attribute", f"relatedParty[{index}].partyOrPartyRole.id is required: "
                           "a related party names the party (or party role) it relates")
        references.append({"id": named["id"], "name": named.get("name"), "role": related.get("role"),
                           "@referredType": named.get("@referredType") or named.get("@type")})
    return references


def place_ids(api, described: dict) -> list[Any]:
    """The ids of the places an item's product names, in order (None where one names no id)."""
    places = object_list(described.get("place"), "place")
    if api.version >= 5:
        return [(related.get("place") if isinstance(related.get("place"), dict) else {}).get("id")
                for related in places]
    return [element.get("id") for element in places]
