"""The customer portal under /portal/: its pages and routes, and ``scope`` — the one place that limits
what a customer may read or change to their own account (also used by the workflows and the REST API).
May import ``app.core``, ``app.models``, ``app.workflows``, ``app.cases``, ``app.orders``, and ``app.search``
and ``app.exports`` (the portal's search and list downloads).
"""
