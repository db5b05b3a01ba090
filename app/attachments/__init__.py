"""Files attached to order cases, case lines, tasks, orders and quotes, kept in the database.

Owns the attachment records and their bytes (``models``), what a file may be (``sniff``: the type read
from its bytes), storing, listing, streaming and deleting them (``store``), and the back-office, portal
and page pieces that show them (``views``, ``portal``). May import ``app.core`` and ``app.models``
(and ``app.portal.scope`` for what a customer may see); nothing here imports ``app.sla`` or ``app.mail``.
"""
