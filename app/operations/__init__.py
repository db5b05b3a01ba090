"""Operations: how the application is kept running, for its administrators.

Owns the periodic job's runner (a registry of periodic tasks, the run records, the ``periodic`` command and
the in-process schedule of ``./scripts/run``), the Operations page (last runs, the notification outbox and
the TMF event outbox with Retry, the mail configuration and a test email) and the demo mail sink.
May import ``app.core``, ``app.models`` and the domain packages whose periodic work it runs (``app.sla``,
``app.tmf``, ``app.mail``, ``app.exchange``); nothing imports it but the spine.
"""
