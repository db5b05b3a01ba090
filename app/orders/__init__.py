"""Customer and service orders, the customer and catalog records they refer to, quotes, enrichment,
the order rules, applying accepted case changes to orders (``changes``), and the order pages.
May import ``app.core`` and ``app.models``; never the case pages, the APIs or the portal.
"""
