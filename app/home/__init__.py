"""What a user sees first: the home page's work lists and tiles, and the managers' dashboard.
Reads through ``app.core``, ``app.models`` and the approvals inbox's query (``app.orders.approvals``);
changes nothing.
"""
