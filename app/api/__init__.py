"""The REST API under /api/v1/: the endpoint machinery (``framework``), schemas, the case, order and
record endpoints, the OpenAPI document and ``routes``, which registers them all.
A thin layer over ``app.workflows``, ``app.cases`` and ``app.orders``; nothing imports it but the factory.
"""
