"""Fuzz the TMF APIs with schemathesis against the official TM Forum documents (run by scripts/tmf-fuzz).

Each document in ../shared/tmf/ is used as published, except for the short list of CORRECTIONS below:
defects of the documents themselves, each with the reason. They are applied to a copy, and the
operations a correction cannot express get a check switched off in CHECK_EXCLUSIONS. Everything else
schemathesis checks (server errors, status codes, content types, headers, response schemas, schema-valid
requests accepted, schema-invalid ones refused, Allow on 405, ...) must pass. The run is bounded by
the number of examples per operation, with a fixed seed so that CI repeats it exactly.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

# The application's reading of the documents' polymorphism (app/tmf/schemas.py), so that the fuzzer judges
# by the same rule the server validates by.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.tmf.schemas import discriminated  # noqa: E402


@dataclass(frozen=True)
class Target:
    name: str
    document: str
    base_path: str
    # Examples per operation relative to --examples: v5's bodies are several times larger to generate
    # and check.
    share: float = 1.0
    # The examples phase sends the document's own examples; for TMF622 v5, schemathesis spends minutes
    # building them from its polymorphic schemas (11 minutes at 3 per operation), so v5 is fuzzed only.
    phases: str = "examples,fuzzing"


TARGETS = (
    Target("TMF622 v4", "TMF622-ProductOrder-v4.0.0.swagger.json", "/tmf-api/productOrderingManagement/v4"),
    Target("TMF641 v4", "TMF641-Service_Ordering-v4.0.0.swagger.json", "/tmf-api/serviceOrdering/v4"),
    Target("TMF622 v5", "TMF622-ProductOrdering-v5.0.0.oas.yaml", "/tmf-api/productOrderingManagement/v5", 0.5,
           phases="fuzzing"),
)


REQUEST_ROOTS = ("ProductOrder_Create", "ProductOrder_Update", "ServiceOrder_Create", "ServiceOrder_Update",
                 "CancelProductOrder_Create", "CancelServiceOrder_Create", "EventSubscriptionInput",
                 "ProductOrder_FVO", "ProductOrder_MVO", "CancelProductOrder_FVO", "Hub_FVO")


def _all_definitions(document: dict) -> dict:
    return document.get("definitions") or document["components"]["schemas"]


def _definitions(document: dict) -> dict:
    """The definitions request bodies use (copies, see _separate_requests): corrections of what a client
    may send leave the response schemas as published."""
    return document["x-request-definitions"]


def _objects(node):
    """Every object in *node*, itself included, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _objects(value)


def _references(node):
    return (element for element in _objects(node) if isinstance(element.get("$ref"), str))


def _mappings(node):
    """The discriminator mappings in *node* (v5): they name their branches by reference too."""
    for element in _objects(node):
        discriminator = element.get("discriminator")
        if isinstance(discriminator, dict) and discriminator.get("mapping"):
            yield discriminator["mapping"]


def _separate_requests(document: dict) -> None:
    """Give request bodies their own copy of every definition they reach (suffix __request)."""
    definitions = _all_definitions(document)
    prefix = "#/definitions/" if "definitions" in document else "#/components/schemas/"
    reached, pending = set(), [name for name in REQUEST_ROOTS if name in definitions]
    while pending:
        name = pending.pop()
        if name in reached:
            continue
        reached.add(name)
        pending += [ref["$ref"][len(prefix):] for ref in _references(definitions[name]) if ref["$ref"].startswith(prefix)]
    copies = {name: copy.deepcopy(definitions[name]) for name in reached}
    for node in copies.values():
        for ref in _references(node):
            if ref["$ref"][len(prefix):] in reached:
                ref["$ref"] += "__request"
        for mapping in _mappings(node):
            for key, target in mapping.items():
                if target[len(prefix):] in reached:
                    mapping[key] = target + "__request"
    bodies = [parameter for path in document["paths"].values() for operation in path.values()
              if isinstance(operation, dict) for parameter in operation.get("parameters", []) if parameter.get("in") == "body"]
    bodies += list(document.get("components", {}).get("requestBodies", {}).values())
    for body in bodies:
        for ref in _references(body):
            if ref["$ref"][len(prefix):] in reached:
                ref["$ref"] += "__request"
    definitions.update({f"{name}__request": node for name, node in copies.items()})
    document["x-request-definitions"] = copies


def _parameters(document: dict, name: str):
    for path in document["paths"].values():
        for operation in path.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                parameter = _resolve(document, parameter)
                if parameter.get("name") == name and parameter.get("in") == "query":
                    yield parameter.get("schema", parameter)


def _resolve(document: dict, node: dict) -> dict:
    reference = node.get("$ref") if isinstance(node, dict) else None
    if not reference:
        return node
    target = document
    for part in reference.lstrip("#/").split("/"):
        target = target[part]
    return target


def _minimum_zero(document: dict) -> None:
    for name in ("offset", "limit"):
        for schema in _parameters(document, name):
            schema["minimum"] = 0


def _non_empty_item_ids(document: dict) -> None:
    definitions = _definitions(document)
    for name in ("ProductOrderItem", "ServiceOrderItem", "ProductOrderItem_FVO"):
        for schema in _object_parts(definitions.get(name)):
            if "id" in schema.get("properties", {}):
                schema["properties"]["id"]["minLength"] = 1


def _object_parts(schema):
    if not schema:
        return []
    return [schema, *(part for part in schema.get("allOf", []) if "properties" in part)]


def _patch_without_items(document: dict) -> None:
    for name in ("ProductOrder_Update", "ServiceOrder_Update"):
        schema = _definitions(document).get(name)
        if schema and "required" in schema:
            schema["required"] = [field for field in schema["required"] if field not in ("productOrderItem",)]
            if not schema["required"]:
                del schema["required"]


def _priority_zero_to_four(document: dict) -> None:
    for name in ("ProductOrder_Create", "ProductOrder_Update", "ServiceOrder_Create", "ServiceOrder_Update",
                 "ProductOrder_FVO", "ProductOrder_MVO"):
        for schema in _object_parts(_definitions(document).get(name)):
            if "priority" in schema.get("properties", {}):
                schema["properties"]["priority"]["enum"] = ["0", "1", "2", "3", "4"]


def _references_name_something(document: dict) -> None:
    for name, schema in _definitions(document).items():
        if name.endswith(("Ref", "RefOrValue", "Ref_FVO", "Ref_MVO", "RelatedParty")):
            for part in _object_parts(schema):
                for attribute in ("id", "@referredType"):
                    if attribute in part.get("properties", {}) and attribute in part.get("required", ["id"]):
                        part["properties"][attribute]["minLength"] = 1
        if name.startswith("Characteristic"):
            for part in _object_parts(schema):
                if "name" in part.get("properties", {}):
                    part["properties"]["name"]["minLength"] = 1


def _amounts_fit_a_price(document: dict) -> None:
    for schema in _object_parts(_definitions(document).get("Money")):
        if "value" in schema.get("properties", {}):
            schema["properties"]["value"].update({"minimum": -(10**12) + 1, "maximum": 10**12 - 1})


def _notes_have_text(document: dict) -> None:
    for name in ("Note", "Note_FVO", "Note_MVO"):
        for schema in _object_parts(_definitions(document).get(name)):
            if "text" in schema.get("properties", {}):
                schema["required"] = sorted({*schema.get("required", []), "text"})
                schema["properties"]["text"]["minLength"] = 1


# Text the server keeps in columns of a bounded length (app/orders/models.py, app/models.py).
TEXT_LIMITS = {("ProductOrderItem", "id"): 100, ("ServiceOrderItem", "id"): 100,
               ("ProductOrder_Create", "externalId"): 100, ("ServiceOrder_Create", "externalId"): 100,
               ("ProductOrder_Update", "externalId"): 100, ("ServiceOrder_Update", "externalId"): 100,
               ("ProductOrder_Create", "category"): 100, ("ServiceOrder_Create", "category"): 100,
               ("ProductOrder_Update", "category"): 100, ("ServiceOrder_Update", "category"): 100,
               ("ProductOrder_Create", "description"): 500, ("ServiceOrder_Create", "description"): 500,
               ("ProductOrder_Update", "description"): 500, ("ServiceOrder_Update", "description"): 500,
               ("Characteristic", "name"): 100,
               ("ProductOrderItem_FVO", "id"): 100, ("ExternalIdentifier_FVO", "id"): 100,
               ("ExternalIdentifier_MVO", "id"): 100, ("ProductOrder_FVO", "category"): 100,
               ("ProductOrder_MVO", "category"): 100, ("ProductOrder_FVO", "description"): 500,
               ("ProductOrder_MVO", "description"): 500, ("Characteristic_FVO", "name"): 100}


def _text_fits_its_column(document: dict) -> None:
    definitions = _definitions(document)
    for (name, attribute), limit in TEXT_LIMITS.items():
        for schema in _object_parts(definitions.get(name)):
            if attribute in schema.get("properties", {}):
                schema["properties"][attribute]["maxLength"] = limit
    for name, schema in definitions.items():
        if name.endswith(("Ref", "RelatedParty", "RefOrValue", "Ref_FVO", "Ref_MVO")):
            for part in _object_parts(schema):
                if "id" in part.get("properties", {}):
                    part["properties"]["id"]["maxLength"] = 200


def _quantities_count(document: dict) -> None:
    for name in ("ProductOrderItem", "ServiceOrderItem", "ProductOrderItem_FVO"):
        for schema in _object_parts(_definitions(document).get(name)):
            if "quantity" in schema.get("properties", {}):
                schema["properties"]["quantity"].update({"minimum": 1, "maximum": 2**31 - 1})


def _cancel_of_an_unknown_order_is_404(document: dict) -> None:
    for path, operations in document["paths"].items():
        if path.startswith("/cancel") and "post" in operations:
            operations["post"]["responses"].setdefault("404", {"description": "Not Found",
                                                               "schema": {"$ref": "#/definitions/Error"}})


def _item_state_is_the_servers(document: dict) -> None:
    for name in ("ProductOrderItem", "ServiceOrderItem", "ProductOrderItem_FVO"):
        for schema in _object_parts(_definitions(document).get(name)):
            schema.get("properties", {}).pop("state", None)


def _created_live(document: dict) -> None:
    for name in ("ProductOrder_Create", "ServiceOrder_Create"):
        for schema in _object_parts(_definitions(document).get(name)):
            for attribute in ("cancellationDate", "cancellationReason"):
                schema.get("properties", {}).pop(attribute, None)


def _related_parties_name_a_party(document: dict) -> None:
    for name in ("RelatedPartyRefOrPartyRoleRef_FVO", "RelatedPartyRefOrPartyRoleRef_MVO"):
        for schema in _object_parts(_definitions(document).get(name)):
            if "partyOrPartyRole" in schema.get("properties", {}):
                schema["required"] = sorted({*schema.get("required", []), "partyOrPartyRole"})


def _polymorphism_by_type(document: dict) -> None:
    schemas = document["components"]["schemas"]
    schemas.update(discriminated(schemas))


def _callback_is_a_url(document: dict) -> None:
    for name in ("EventSubscriptionInput", "Hub_FVO"):
        for schema in _object_parts(_definitions(document).get(name)):
            if "callback" in schema.get("properties", {}):
                schema["properties"]["callback"]["pattern"] = "^https?://"


# (targets, what, why, how): the documented defects of the official documents.
CORRECTIONS = (
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "offset and limit: minimum 0",
     "the documents type them as bare integers; a negative page position has no meaning and is refused",
     _minimum_zero),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "order item ids: at least one character",
     "the conformance profile (TMF622B) makes the item id mandatory; an empty id identifies no item",
     _non_empty_item_ids),
    (("TMF622 v4",), "ProductOrder_Update: productOrderItem not required",
     "a merge patch names only what changes; requiring the items in every PATCH is a defect of the v4 "
     "document (items are not patchable here: an order's items change through a new order)",
     _patch_without_items),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "hub callback: an http(s) URL",
     "the documents type the callback as any string; events are POSTed to it, so it must be a URL",
     _callback_is_a_url),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "priority: one of \"0\" to \"4\"",
     "the documents say \"from 0 to 4: 0 is the highest priority\" in the description only",
     _priority_zero_to_four),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "references and characteristics: a non-empty id / name",
     "a reference (…Ref, RelatedParty) names its target by id, a characteristic is known by its name: the "
     "conformance profile makes both mandatory, and an empty one names nothing",
     _references_name_something),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "Money.value: within ±10^12",
     "the documents put no bounds on amounts; prices are kept to the cent below a trillion (NUMERIC(14, 2))",
     _amounts_fit_a_price),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "note: text required",
     "the conformance profile (TMF622B) makes note.text mandatory when a note is given", _notes_have_text),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "text kept in columns: at most the column's length",
     "a server limit rather than a defect: item ids, externalId, category (100), description (500), "
     "characteristic names (100), reference ids (200); longer text is refused with 400",
     _text_fits_its_column),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "item quantity: 1 to 2^31 - 1",
     "the documents put no bounds on the quantity; none or fewer than none of a product cannot be ordered",
     _quantities_count),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "order item state: not sent by clients",
     "the server sets the state of every item (and the TMF641 conformance kit's E3 expects a POST that "
     "sets it to be refused); the documents' item schema, shared by requests and responses, lists it",
     _item_state_is_the_servers),
    (("TMF622 v4", "TMF641 v4"), "…Order_Create: no cancellationDate or cancellationReason",
     "they describe a cancellation, which a new order has not had (v5 leaves them out of its create "
     "schema); a POST that sends them is refused",
     _created_live),
    (("TMF622 v4", "TMF641 v4"), "POST /cancel…Order: may answer 404",
     "a cancellation of an order that does not exist is answered 404, which v5 declares and v4 omits",
     _cancel_of_an_unknown_order_is_404),
    (("TMF622 v5",), "related party: partyOrPartyRole required",
     "v5 leaves it optional, so a related party may name nobody; v4 required the party's id, and a party "
     "that names no one cannot be matched to a customer or contact (refused with 400)",
     _related_parties_name_a_party),
    # Last: it rewrites every schema, the corrected ones included.
    (("TMF622 v5",), "oneOf with a discriminator: the branch @type names",
     "the v5 document's polymorphic attributes (partyOrPartyRole, place, product, ...) are oneOf lists "
     "whose branches overlap (a PartyRef is also a valid PartyRoleRef), so as plain JSON Schema every "
     "value matches several and none is valid; OpenAPI's discriminator picks the branch by @type, and a "
     "@type the mapping does not name (a subclass) must be valid as one of the branches",
     _polymorphism_by_type),
)

# (targets, method, path, check, why): checks that cannot hold for one operation, by the document's fault.
CHECK_EXCLUSIONS = (
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "PATCH", "/{resource}/{id}", "positive_data_acceptance",
     "a schema-valid PATCH may still ask for a state change the order's lifecycle refuses (409), or change a "
     "read-only attribute (id, href, orderDate, cancellationDate: 400); the documents cannot express either"),
    (("TMF622 v4", "TMF641 v4"), "DELETE", "/{resource}/{id}", "content_type_conformance",
     "the documents give every response, the 204 of a DELETE included, the JSON media type; a 204 has no "
     "content, so it has no Content-Type"),
    (("TMF622 v4", "TMF641 v4"), "DELETE", "/hub/{id}", "content_type_conformance",
     "as for DELETE of an order: 204 No Content carries no Content-Type"),
    (("TMF622 v4", "TMF641 v4", "TMF622 v5"), "POST", "/hub", "positive_data_acceptance",
     "a callback is registered only when its host resolves to an address the server may call (the outbound "
     "guard refuses unresolvable, private and loopback hosts, 400); no document can express where a URL resolves"),
)
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance", "positive_data_acceptance",
          "negative_data_rejection", "use_after_free", "ensure_resource_availability", "missing_required_header",
          "ignored_auth", "unsupported_method", "allow_header_conformance")


def corrected(target: Target, shared: Path) -> dict:
    text = (shared / "tmf" / target.document).read_text()
    document = json.loads(text) if target.document.endswith(".json") else yaml.safe_load(text)
    document = copy.deepcopy(document)
    _separate_requests(document)
    for targets, _what, _why, apply in CORRECTIONS:
        if target.name in targets:
            apply(document)
    return document


def _config(target: Target, resource: str) -> str:
    # Checks are enabled here rather than by --checks, which would override the per-operation exclusions.
    lines = [f"checks.{check}.enabled = true" for check in CHECKS] + [""]
    for targets, method, path, check, _why in CHECK_EXCLUSIONS:
        if target.name in targets:
            lines += ["[[operations]]", f'include-path = "{path.replace("{resource}", resource)}"',
                      f'include-method = "{method}"', f"checks.{check}.enabled = false", ""]
    return "\n".join(lines)


def run(target: Target, args, work: Path) -> dict:
    document = corrected(target, args.shared)
    resource = "productOrder" if "622" in target.name else "serviceOrder"
    schema_file = work / f"{target.name.replace(' ', '-')}.json"
    document.pop("x-request-definitions")
    schema_file.write_text(json.dumps(document))
    config_file = work / f"{target.name.replace(' ', '-')}.toml"
    config_file.write_text(_config(target, resource))
    report = work / f"{target.name.replace(' ', '-')}-report.json"
    command = [
        args.schemathesis, "--config-file", str(config_file), "run", str(schema_file),
        "--url", args.base_url + target.base_path,
        "-H", f"Authorization: Bearer {args.token}",
        "--exclude-path-regex", "^/listener/",
        "--phases", target.phases,
        "--max-examples", str(max(1, round(args.examples * target.share))), "--seed", str(args.seed), "--generation-database", "none",
        # NUL characters are refused with 400 by design (PostgreSQL text cannot hold them; see
        # tests/tmf/test_tmf_api.py::test_fuzzer_reproducers_are_clean_4xx), not fuzzed here.
        "--generation-allow-x00", "false",
        # The order documents are large: generating a body can be slow, which is no fault of the API.
        "--suppress-health-check", "too_slow,filter_too_much,data_too_large",
        "--workers", "1", "--no-color", "--report", "json", "--report-json-path", str(report),
    ]
    print(f"\n=== schemathesis: {target.name} ({target.document}) ===", flush=True)
    subprocess.run(command, check=False)
    return json.loads(report.read_text()) if report.exists() else {"failures": ["no report"], "test_cases": {}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--shared", type=Path, required=True)
    parser.add_argument("--examples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--only", action="append", help="a target name, e.g. 'TMF641 v4' (repeatable)")
    parser.add_argument("--schemathesis", default=str(Path(sys.executable).with_name("schemathesis")))
    args = parser.parse_args()
    print("Corrections of the official documents (defects of the documents themselves):")
    for targets, what, why, _apply in CORRECTIONS:
        print(f"  - {', '.join(targets)}: {what} — {why}")
    for targets, method, path, check, why in CHECK_EXCLUSIONS:
        print(f"  - {', '.join(targets)}: {check} off for {method} {path} — {why}")
    status = 0
    summary = []
    with tempfile.TemporaryDirectory() as directory:
        for target in TARGETS:
            if args.only and target.name not in args.only:
                continue
            result = run(target, args, Path(directory))
            cases = result.get("test_cases", {}).get("generated", 0)
            failures = result.get("failures", []) + result.get("errors", [])
            summary.append(f"{target.name}: {cases} test cases, {len(failures)} kinds of failure")
            status |= bool(failures) or not cases
    print("\n=== schemathesis summary ===")
    print("\n".join(summary))
    return status


if __name__ == "__main__":
    sys.exit(main())
