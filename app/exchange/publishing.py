"""Catalog publishing: the provider publishes offerings on a connection as TMF620 ``productOffering``
documents; the consumer keeps a copy of each in its catalog, marked with the provider, in step with every
change of name, price or characteristics, and retired when the provider retires or withdraws it."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Iterable

from sqlalchemy import select

from app.core.choices import PriceType, SpecKind, ValueType
from app.core.exceptions import InvalidInput
from app.core.extensions import db
from app.core.model_base import utcnow
from app.core.workflow_base import set_fields
from app.exchange.models import ExchangeConnection, ExchangeOffering, ExchangePublication
from app.exchange.outbox import queue_message
from app.models import CharacteristicDefinition, ProductOffering, ProductSpecification
from app.tmf.common import tmf_datetime

OFFERING_MESSAGE = "productOffering"
LAUNCHED, RETIRED = "Launched", "Retired"
PRICE_TYPE_TO_TMF = {PriceType.ONE_TIME: "oneTime", PriceType.RECURRING: "recurring"}
PRICE_TYPE_FROM_TMF = {tmf: ours for ours, tmf in PRICE_TYPE_TO_TMF.items()}
ACTION = "Service Exchange catalog"


# ---------------------------------------------------------------- provider side

def render_offering(offering: ProductOffering, lifecycle: str | None = None) -> dict:
    """The offering as a TMF620 productOffering (price and characteristics embedded)."""
    lifecycle = lifecycle or (LAUNCHED if offering.active else RETIRED)
    document = {
        "id": offering.number,
        "@type": "ProductOffering",
        "name": offering.name,
        "version": str(offering.version or 1),
        "lastUpdate": tmf_datetime(offering.changed_on or utcnow()),
        "lifecycleStatus": lifecycle,
        "isSellable": lifecycle == LAUNCHED,
        "productOfferingPrice": [{
            "@type": "ProductOfferingPrice",
            "name": f"{offering.name} price",
            "priceType": PRICE_TYPE_TO_TMF.get(offering.price_type, "oneTime"),
            "price": {"unit": offering.currency, "value": str(offering.unit_price)},
        }],
    }
    if offering.description:
        document["description"] = offering.description
    spec = offering.specification
    if spec is not None:
        document["productSpecification"] = {"id": spec.number, "name": spec.name,
                                            "@referredType": "ProductSpecification"}
        document["prodSpecCharValueUse"] = [{
            "name": definition.name,
            "valueType": definition.value_type,
            "minCardinality": 1 if definition.required else 0,
            "maxCardinality": 1,
            "productSpecCharacteristicValue": [{"value": value} for value in definition.allowed],
        } for definition in spec.characteristics]
    return document


def published_offerings(connection: ExchangeConnection) -> set[int]:
    return set(db.session.scalars(select(ExchangePublication.offering_id)
                                  .where(ExchangePublication.connection_id == connection.id)))


def set_publications(connection: ExchangeConnection, offering_ids: Iterable[int]) -> tuple[int, int]:
    """Publish exactly *offering_ids* on the connection: newly chosen ones are sent, withdrawn ones are
    retired in the consumer's catalog. Returns (published, withdrawn); commits once."""
    if not connection.is_provider:
        raise InvalidInput("Only a provider's connection publishes offerings.")
    wanted = set(offering_ids)
    offerings = {o.id: o for o in db.session.scalars(select(ProductOffering).where(ProductOffering.id.in_(wanted)))}
    unknown = wanted - set(offerings)
    if unknown:
        raise InvalidInput(f"No offering with id {', '.join(map(str, sorted(unknown)))}.")
    foreign = [o.name for o in offerings.values() if o.provider]
    if foreign:
        raise InvalidInput(f"{', '.join(foreign)} came from another provider and cannot be published again.")
    current = {p.offering_id: p for p in db.session.scalars(
        select(ExchangePublication).where(ExchangePublication.connection_id == connection.id))}
    for offering_id in sorted(wanted - set(current)):
        db.session.add(ExchangePublication(connection_id=connection.id, offering_id=offering_id,
                                           published_on=utcnow()))
        _send(connection, offerings[offering_id])
    for offering_id in sorted(set(current) - wanted):
        offering = current[offering_id].offering
        db.session.delete(current[offering_id])
        _send(connection, offering, RETIRED)
    db.session.commit()
    return len(wanted - set(current)), len(set(current) - wanted)


def _send(connection: ExchangeConnection, offering: ProductOffering, lifecycle: str | None = None) -> None:
    queue_message(connection, OFFERING_MESSAGE, render_offering(offering, lifecycle),
                  f"{offering.number} {offering.name}")


def offerings_changed(offering_ids: set[int]) -> None:
    """Send the new state of changed published offerings to every connection they are published on."""
    rows = db.session.execute(
        select(ExchangePublication.connection_id, ProductOffering)
        .join(ProductOffering, ProductOffering.id == ExchangePublication.offering_id)
        .where(ExchangePublication.offering_id.in_(offering_ids))
    ).all()
    for connection_id, offering in rows:
        _send(db.session.get(ExchangeConnection, connection_id), offering)


def specifications_changed(specification_ids: set[int]) -> None:
    """A changed specification (its characteristics) changes every published offering built on it."""
    offering_ids = set(db.session.scalars(select(ProductOffering.id).where(
        ProductOffering.specification_id.in_(specification_ids))))
    if offering_ids:
        offerings_changed(offering_ids)


# ---------------------------------------------------------------- consumer side

def receive_offering(connection: ExchangeConnection, document: dict, actor) -> None:
    """Create or update our copy of a published offering (retired: no longer orderable)."""
    if connection.is_provider:
        raise InvalidInput("This instance is the provider on this connection; it takes no offerings.")
    remote_id = document.get("id")
    name = document.get("name")
    if not isinstance(remote_id, str) or not remote_id or not isinstance(name, str) or not name.strip():
        raise InvalidInput("A productOffering needs an id and a name.")
    price = _price(document)
    values = {
        "name": name.strip()[:150],
        "description": (document.get("description") or None) if isinstance(document.get("description"), str) else None,
        "unit_price": price[0],
        "currency": price[1],
        "price_type": price[2],
        "active": document.get("lifecycleStatus") != RETIRED and document.get("isSellable", True) is not False,
        "provider": connection.name[:150],
    }
    link = db.session.scalars(select(ExchangeOffering).where(ExchangeOffering.connection_id == connection.id,
                                                             ExchangeOffering.remote_id == remote_id)).first()
    if link is None:
        offering = ProductOffering(**values)
        db.session.add(offering)
        db.session.flush()
        link = ExchangeOffering(connection_id=connection.id, remote_id=remote_id, offering_id=offering.id)
        db.session.add(link)
    else:
        offering = link.offering
        set_fields(offering, values, action=ACTION)
    link.last_update = utcnow()
    _receive_specification(offering, document, connection)


def _price(document: dict) -> tuple[Decimal, str, str]:
    prices = document.get("productOfferingPrice") or []
    first = prices[0] if isinstance(prices, list) and prices and isinstance(prices[0], dict) else {}
    money = first.get("price") if isinstance(first.get("price"), dict) else {}
    try:
        value = Decimal(str(money.get("value", "0")))
    except InvalidOperation as exc:
        raise InvalidInput(f"The price {money.get('value')!r} is not a number.") from exc
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise InvalidInput(f"The price {money.get('value')!r} is out of range.")
    unit = money.get("unit") if isinstance(money.get("unit"), str) and len(money.get("unit")) == 3 else "USD"
    return value.quantize(Decimal("0.01")), unit.upper(), PRICE_TYPE_FROM_TMF.get(first.get("priceType"),
                                                                                 PriceType.ONE_TIME)


def _receive_specification(offering: ProductOffering, document: dict, connection: ExchangeConnection) -> None:
    """The characteristics the provider asks for on an order, as a specification of our copy."""
    reference = document.get("productSpecification")
    uses = [use for use in (document.get("prodSpecCharValueUse") or []) if isinstance(use, dict) and use.get("name")]
    if not isinstance(reference, dict) or not reference.get("name"):
        return
    spec = offering.specification
    if spec is None:
        spec = ProductSpecification(name=str(reference["name"])[:150], kind=SpecKind.PRODUCT,
                                    description=f"Published by {connection.name}")
        db.session.add(spec)
        offering.specification = spec
    else:
        spec.name = str(reference["name"])[:150]
    wanted = []
    for use in uses:
        allowed = [str(v.get("value")) for v in use.get("productSpecCharacteristicValue") or []
                   if isinstance(v, dict) and v.get("value") is not None]
        value_type = use.get("valueType") if use.get("valueType") in ValueType.ALL else ValueType.STRING
        wanted.append((str(use["name"])[:100], value_type, ",".join(allowed)[:500] or None,
                       bool(use.get("minCardinality"))))
    current = [(d.name, d.value_type, d.allowed_values or None, d.required) for d in spec.characteristics]
    if current != wanted:
        spec.characteristics.clear()
        for name, value_type, allowed, required in wanted:
            spec.characteristics.append(CharacteristicDefinition(name=name, value_type=value_type,
                                                                 allowed_values=allowed, required=required))
