"""The small set of failures an action has to tell apart."""
from __future__ import annotations


class BackendError(Exception):
    """Base class: something went wrong talking to a backend."""

    def __init__(self, message: str = "", code: str = "backend_error", status: int = 0):
        super().__init__(message or code)
        self.code, self.message, self.status = code, message, status


class BackendUnavailable(BackendError):
    """Down, timed out or answered 5xx: apologise and let the user try again later."""


class Rejected(BackendError):
    """A 4xx with a stable code and an Indonesian message that is safe to show to the user."""


class NotFound(Rejected):
    """404: the thing asked for does not exist."""
