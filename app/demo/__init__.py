"""The demo data set: accounts, catalog, orders in every state, and order cases with their history.
Writes records directly (with the audit trail their history implies); imported only by the factory and the CLI.
"""
