"""What a user sees first: the home page's work lists and tiles, and the managers' dashboard.
Reads through ``app.core`` and ``app.models``; changes nothing.
"""
