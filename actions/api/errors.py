"""The small set of failures an action has to tell apart."""
from __future__ import annotations

from typing import Any, Dict, Optional


class BackendError(Exception):
    """Base class: something went wrong talking to a backend.

    `code` is the backend's stable error code and `data` its codes and numbers (which field, why, when
    to retry); `service` names the backend ("registration", ...). The user's words for a code are the
    domain's (actions.backend_calls.utter_backend_error). `message` is the older Indonesian text, sent
    only by the backends that still word their errors themselves (the certificate service's).
    """

    def __init__(self, message: str = "", code: str = "backend_error", status: int = 0,
                 data: Optional[Dict[str, Any]] = None, detail: str = "", service: str = ""):
        super().__init__(detail or message or code)
        self.code, self.message, self.status = code, message, status
        self.data: Dict[str, Any] = dict(data) if isinstance(data, dict) else {}
        self.detail, self.service = detail, service


class BackendUnavailable(BackendError):
    """Down, timed out or answered 5xx: apologise and let the user try again later."""


class Rejected(BackendError):
    """A 4xx with a stable code (and data) that the domain's responses explain to the user."""


class NotFound(Rejected):
    """404: the thing asked for does not exist."""
