"""The account as the agent's starting point (its 360° overview: figures, cases, orders, quotes,
interactions, inventory, contacts, sites) and an inventory item's history (the order lines that
created, changed or disconnected it, with before → after). Read-only pages; the changes they start
are the case, order and quote workflows' own.
May import ``app.core`` and ``app.models``.
"""
