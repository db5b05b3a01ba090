"""The home page and the managers' dashboard."""
