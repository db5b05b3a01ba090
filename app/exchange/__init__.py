"""Service Exchange: two order desks connected instance to instance, a provider and a consumer.

Owns the connections, the message outbox and inbox between the two instances, catalog publishing
(TMF620 productOffering), exchanged orders (TMF622 orders and their state events) and order cases
mirrored across the bridge. May import ``app.core``, ``app.models``, ``app.orders``, ``app.cases``,
``app.workflows`` and ``app.tmf``; nothing imports it but the factory (and ``app.models``, which registers
its records, and ``app.operations``, whose periodic job delivers its outbox).
"""
