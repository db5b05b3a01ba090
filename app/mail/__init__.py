"""E-mail on the order case: templates and the agent's e-mail from the case page (out through the
notification outbox), and the desk mailbox polled over IMAP, whose messages become customer comments,
new Draft cases, or entries of a review list.

May import ``app.core``, ``app.models``, ``app.workflows``, ``app.cases``, ``app.attachments`` and
``app.sla.notifications`` (the outbox); nothing outside imports it but the views and the periodic job.
"""
