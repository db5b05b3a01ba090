"""Domain exceptions: what a workflow refuses and why. Mapped to flash messages and HTTP codes in errors.py."""
from __future__ import annotations


class DomainError(Exception):
    """A refused business operation; the message says what was refused and why."""

    status_code = 422

    def __init__(self, message: str, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class InvalidInput(DomainError):
    """The input is incomplete or wrong (422)."""

    status_code = 422


class StateConflict(DomainError):
    """The action is not allowed in the record's current state (409)."""

    status_code = 409


class VersionConflict(DomainError):
    """Someone changed the record since the user loaded it (409)."""

    status_code = 409


class PermissionDenied(DomainError):
    """The user's role does not allow this action (403)."""

    status_code = 403


class RecordNotFound(DomainError):
    """The record does not exist or the user may not see it (404)."""

    status_code = 404
