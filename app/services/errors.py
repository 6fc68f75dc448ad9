"""Domain errors services raise; views turn them into form errors, mail into explanations."""
from __future__ import annotations

import functools


class DomainError(Exception):
    """Something the member asked for cannot be done; the message says why, for a human."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The policy module said no."""


class NotFound(DomainError):
    """No such thing, or not visible to this person (the same answer on purpose)."""


class Invalid(DomainError):
    """Input that does not make sense; `field` names the form field to blame."""


class RateLimited(DomainError):
    """Too many attempts; try again later."""


def all_or_nothing(service):
    """A service refused with a DomainError leaves nothing half-written in the session, so the page
    or mail that explains the refusal starts clean (no caller rolls back by hand)."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        from ..extensions import db

        try:
            return service(*args, **kwargs)
        except DomainError:
            db.session.rollback()
            raise

    return wrapper
