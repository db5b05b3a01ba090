"""Service Exchange tests in one application: this instance's end of a connection, and messages that the
other instance would send, posted to the inbox as it would post them."""
from __future__ import annotations

import json
import uuid

import pytest
from flask import current_app

from app.core.extensions import db
from app.exchange.connections import issue_peer_key
from app.exchange.models import ExchangeConnection

PEER = "http://127.0.0.1:9"  # nothing listens on the discard port: messages to it stay queued


@pytest.fixture
def integrator_key(users):
    """A key of the test session's integrator user: valid here, but issued for no connection."""
    sm = current_app.appbuilder.sm
    return sm.create_api_key(sm.get_user_by_id(users["integrator"].id), "exchange-test")["key"]


def make_connection(role: str, account=None, name: str = "Fibre Provider Inc", peer: str = PEER) -> ExchangeConnection:
    """A connection with both keys in place: the other side's (for calling it) and ours for it, which the
    stand-in for the other instance (``Peer``) sends with."""
    connection = ExchangeConnection(name=name, our_role=role, account_id=account.id if account else None,
                                    peer_url=peer, own_url="http://127.0.0.1:8", api_key="sst_other_side",
                                    active=True)
    db.session.add(connection)
    db.session.commit()
    ISSUED_KEYS[peer] = issue_peer_key(connection)
    return connection


ISSUED_KEYS: dict[str, str] = {}


class Peer:
    """The other instance, posting messages to our inbox with the key issued for its connection."""

    def __init__(self, app, url: str = PEER):
        self.client, self.url = app.test_client(), url

    def send(self, kind: str, payload: dict, message_id: str | None = None, key: str | None = None,
             peer: str | None = None):
        response = self.client.post("/exchange/v1/messages", data=json.dumps({
            "id": message_id or str(uuid.uuid4()), "kind": kind, "payload": payload}),
            headers={"Content-Type": "application/json",
                     "Authorization": f"Bearer {key or ISSUED_KEYS[self.url]}",
                     "X-Exchange-Peer": peer or self.url})
        db.session.expire_all()
        return response


@pytest.fixture
def peer(app):
    ISSUED_KEYS.clear()
    return Peer(app)


def offering_document(remote_id: str = "PO0000042", name: str = "Fibre 1G", price: str = "100.00",
                      status: str = "Launched") -> dict:
    return {
        "id": remote_id, "@type": "ProductOffering", "name": name, "lifecycleStatus": status,
        "isSellable": status == "Launched", "description": "Symmetric fibre access",
        "productOfferingPrice": [{"priceType": "recurring", "price": {"unit": "USD", "value": price}}],
        "productSpecification": {"id": "PSPEC0000007", "name": "Fibre access"},
        "prodSpecCharValueUse": [{"name": "Bandwidth", "valueType": "string", "minCardinality": 1,
                                  "productSpecCharacteristicValue": [{"value": "100"}, {"value": "1000"}]}],
    }
