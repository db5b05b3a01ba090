"""Order cases beyond the spine: case line operations, guards, queries for the case pages, tasks, and the
case and task pages. The case transitions themselves live in ``app.workflows``.
May import ``app.core``, ``app.models``, ``app.orders`` (apply change, the account and contact fields), ``app.sla`` and ``app.portal.scope``.
"""
