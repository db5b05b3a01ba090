"""Malformed TMF622/TMF641 create bodies are refused with 400 and a TMF Error body, and write nothing —
on PostgreSQL too, where text longer than its column and numbers out of range fail in the database."""
from __future__ import annotations

import pytest

from app.core.extensions import db
from app.models import CustomerOrder, EnrichmentIssue, OrderLineCharacteristic, OrderLineItem
from tests.tmf.test_tmf_api import P622, S641, api_key_for, Tmf, valid

ITEM_ID = OrderLineItem.__table__.c.external_item_id.type.length
REFERENCE = EnrichmentIssue.__table__.c.reference.type.length
CHARACTERISTIC_NAME = OrderLineCharacteristic.__table__.c.name.type.length
CHARACTERISTIC_VALUE = OrderLineCharacteristic.__table__.c.value.type.length
EXTERNAL_ID = CustomerOrder.__table__.c.external_id.type.length
DESCRIPTION = CustomerOrder.__table__.c.description.type.length


def item(**attributes):
    return {"id": "1", "action": "add", **attributes}


def order(*items, **attributes):
    return {"productOrderItem": list(items) or [item()], **attributes}


@pytest.fixture
def tmf(client_for, users):
    return Tmf(client_for(None), api_key_for(users["integrator"]))


def rows():
    return [db.session.query(model).count() for model in (CustomerOrder, OrderLineItem, EnrichmentIssue)]


@pytest.mark.parametrize("body, message", [
    # Arrays that must hold objects.
    (order(item(product={"place": ["x"]})), "place[0]"),
    (order(item(product={"place": "x"})), "place"),
    (order(item(product={"place": {"id": "S1"}})), "place"),
    (order(item(product={"productCharacteristic": ["speed"]})), "productCharacteristic[0]"),
    (order(item(product={"productCharacteristic": 5})), "productCharacteristic"),
    (order(item(product={"relatedParty": [1]})), "relatedParty[0]"),
    (order(item(itemPrice=["9.99"])), "itemPrice[0]"),
    (order(item(itemPrice={"price": {}})), "itemPrice"),
    (order(item(productOrderItemRelationship=[None])), "productOrderItemRelationship[0]"),
    (order(relatedParty=["456"]), "relatedParty[0]"),
    (order(relatedParty=5), "relatedParty"),
    (order(note=["text"]), "note[0]"),
    (order(note=7), "note"),
    (order(channel=[[]]), "channel[0]"),
    (order(item(product={"place": [{"id": "S1"}, "x"]})), "place[1]"),
    # Ids and names of references must be strings.
    (order(relatedParty=[{"id": {"a": 1}, "@referredType": "Individual"}]), "relatedParty[0].id"),
    (order(item(productOffering={"id": ["x"]})), "productOffering.id"),
    (order(item(product={"place": [{"id": 12}]})), "place[0].id"),
    (order(item(product={"productCharacteristic": [{"name": {"x": 1}, "value": "1"}]})), "name"),
    (order(note=[{"text": {"x": 1}}]), "note"),
    # Text longer than the column that stores it.
    (order(item(id="i" * (ITEM_ID + 1))), "id is longer than"),
    (order(externalId="e" * (EXTERNAL_ID + 1)), "externalId is longer than"),
    (order(description="d" * (DESCRIPTION + 1)), "description is longer than"),
    (order(item(product={"productCharacteristic": [{"name": "n" * (CHARACTERISTIC_NAME + 1)}]})), "name is longer"),
    (order(item(product={"productCharacteristic": [{"name": "n", "value": "v" * (CHARACTERISTIC_VALUE + 1)}]})),
     "value is longer"),
    (order(relatedParty=[{"id": "p" * (REFERENCE + 1), "@referredType": "Individual"}]), "id is longer than"),
    (order(item(productOffering={"id": "o" * (REFERENCE + 1)})), "productOffering.id is longer than"),
    (order(item(product={"productSpecification": {"id": "s" * (REFERENCE + 1)}})), "id is longer than"),
    (order(item(product={"place": [{"id": "l" * (REFERENCE + 1)}]})), "place[0].id is longer than"),
    (order(item(action="modify", product={"id": "i" * (REFERENCE + 1)})), "product.id is longer than"),
    # Numbers out of range of their columns.
    (order(item(quantity=2**31)), "quantity"),
    (order(item(itemPrice=[{"price": {"taxIncludedAmount": {"value": 1e20}}}])), "itemPrice[0]"),
    (order(item(itemPrice=[{"price": {"taxIncludedAmount": {"value": "NaN"}}}])), "itemPrice[0]"),
    (order(item(itemPrice=[{"price": {"taxIncludedAmount": {"value": "cheap"}}}])), "itemPrice[0]"),
    (order(item(quantity=2**31 - 1, itemPrice=[{"price": {"taxIncludedAmount": {"value": 1000}}}])), "total"),
])
def test_bad_product_orders_get_400_and_write_nothing(tmf, body, message):
    before = rows()
    response = tmf.post(f"{P622}/productOrder", body)
    assert response.status_code == 400, response.get_json()
    error = valid(response, "ProductError")
    assert error["code"] == "400" and message in error["message"]
    assert rows() == before


@pytest.mark.parametrize("service, message", [
    ({"place": ["x"]}, "place[0]"),
    ({"serviceCharacteristic": ["x"]}, "serviceCharacteristic[0]"),
    ({"serviceSpecification": {"id": "s" * (REFERENCE + 1)}}, "id is longer than"),
])
def test_bad_service_orders_get_400_and_write_nothing(tmf, service, message):
    before = rows()
    response = tmf.post(f"{S641}/serviceOrder", {"serviceOrderItem": [item(service=service)]})
    assert response.status_code == 400, response.get_json()
    assert message in valid(response, "ServiceError")["message"]
    assert rows() == before


def test_text_as_long_as_its_column_is_accepted(tmf):
    body = order(item(id="i" * ITEM_ID, productOffering={"id": "o" * REFERENCE},
                      product={"place": [{"id": "l" * REFERENCE, "role": "deliveryAddress"}],
                               "productCharacteristic": [{"name": "n" * CHARACTERISTIC_NAME,
                                                          "value": "v" * CHARACTERISTIC_VALUE}]}),
                 externalId="e" * EXTERNAL_ID, description="d" * DESCRIPTION)
    response = tmf.post(f"{P622}/productOrder", body)
    assert response.status_code == 201, response.get_json()
    created = db.session.query(CustomerOrder).filter_by(tmf_id=response.get_json()["id"]).one()
    line = created.lines[0]
    assert line.external_item_id == "i" * ITEM_ID
    assert [(c.name, c.value) for c in line.characteristics] == [("n" * CHARACTERISTIC_NAME, "v" * CHARACTERISTIC_VALUE)]
    assert {issue.reference for issue in created.enrichment_issues} >= {"o" * REFERENCE, "l" * REFERENCE}
