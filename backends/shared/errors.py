"""The base of every service's domain errors: rendered as JSON by backends.shared.web."""
from __future__ import annotations

from typing import Optional


class DomainError(Exception):
    """A broken business rule; `code` is stable, `message` is safe to show to a user."""

    code = "domain_error"
    message = "Permintaan tidak dapat diproses."
    status = 409

    def __init__(self, message: Optional[str] = None):
        super().__init__(message or self.message)
        if message:
            self.message = message
