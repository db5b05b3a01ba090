"""Finding records: the number jump (ORDCS…, ORD…, ACC…, a TMF external id), full-text search over case
texts, journal entries, account and contact names and order external ids (PostgreSQL GIN indexes,
SQLite FTS5 tables; migration 0004), grouped by record type and limited to what the user may open,
and the quick search box of every back-office list.

May import ``app.core`` and ``app.models``, and the portal's ``scope`` (what a customer may see); never
the pages of other domains (their addresses are built with ``url_for``).
"""
