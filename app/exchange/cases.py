"""Order cases across the bridge (to come): HANDLERS maps message kinds to their receivers."""
HANDLERS: dict = {}


def changes_noted(notes: dict) -> None:
    return None
