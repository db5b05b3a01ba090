"""What every domain shares: the database handle, model base (numbers, who/when, versions), states
and vocabularies, roles as data, domain exceptions and their HTTP mapping, the workflow base, page
rendering support, request logging, prepared statements and /health; and the safeguards every request
passes: the input gate, security headers, sessions that end at sign-out, checked outbound callbacks.
Imports nothing from the domain packages except ``app.models`` (the records the workflow base audits).
"""
