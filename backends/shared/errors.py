"""The base of every service's domain errors: rendered as JSON by backends.shared.web.

A service answers with a stable `code` and the `data` a client needs to explain it (which field, why,
when to retry), plus an English `detail` for developers. The words a user reads are the client's: the
assistant's live in its domain responses (`utter_<service>_error_<code>`, domain/backend_errors.yml).
"""
from __future__ import annotations

from typing import Any, Dict, Optional


class DomainError(Exception):
    """A broken business rule: `code` is stable, `data` holds codes and numbers, `detail` is English."""

    code = "domain_error"
    detail = "The request breaks a business rule."
    status = 409

    def __init__(self, *, detail: Optional[str] = None, **data: Any):
        if detail:
            self.detail = detail
        self.data: Dict[str, Any] = data
        super().__init__(self.detail)
