"""Customer and service orders, the customer and catalog records they refer to, quotes, enrichment,
the order rules, applying accepted case changes to orders (``changes``), and the order pages.
May import ``app.core``, ``app.models``, the notification outbox (``app.sla.notifications``) and the
full-text conditions (``app.search.fulltext``, for the type-ahead look-ups); never the case pages, the APIs
or the portal.
"""
