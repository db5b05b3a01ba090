"""TM Forum TMF622 Product Ordering and TMF641 Service Ordering: the profile-driven endpoints, orders <->
TMF documents, TMF conventions and authentication, the hub subscriptions and the event outbox.
May import ``app.core``, ``app.models`` and ``app.orders``; nothing imports it but the factory and the API's auth.
"""
