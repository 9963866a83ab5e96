"""The recipient's address and the message's values, sealed for the ledger (Fernet).

The ledger is storage: it never holds a phone number in the clear. A run seals what the worker
will need (the wa_id or phone, the SMS number, the template's values) with
NOTIFICATIONS_SEALING_KEY, which only the command, the service and the workers hold; the worker
opens it at send time. Broker messages carry the row id only.
"""
from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, Dict, Optional

from cryptography.fernet import Fernet, InvalidToken


class Sealer:
    def __init__(self, secret: str):
        self._fernet = Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))

    def seal(self, values: Dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(values, separators=(",", ":")).encode()).decode()

    def unseal(self, token: Optional[str]) -> Optional[Dict[str, Any]]:
        if not token:
            return None
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except (InvalidToken, ValueError):
            return None
