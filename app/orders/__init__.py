"""Customer and service orders, the customer and catalog records they refer to, quotes, enrichment,
the order rules, applying accepted case changes to orders (``changes``), and the order pages.
May import ``app.core``, ``app.models`` and the notification outbox (``app.sla.notifications``); never the
case pages, the APIs or the portal.
"""
