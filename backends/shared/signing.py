"""HMAC-signed tokens: ticket codes, certificate QR payloads and short-lived download links."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any, Dict, Optional


class InvalidSignature(ValueError):
    pass


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(key: bytes, payload: Dict[str, Any], expires_in: Optional[int] = None, now: Optional[float] = None) -> str:
    """A compact `body.signature` token; with `expires_in` it stops verifying after that many seconds."""
    body = dict(payload)
    if expires_in is not None:
        body["exp"] = int((now if now is not None else time.time()) + expires_in)
    encoded = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    return f"{encoded}.{_signature(key, encoded)}"


def verify(key: bytes, token: str, now: Optional[float] = None) -> Dict[str, Any]:
    try:
        encoded, signature = token.split(".", 1)
        if not hmac.compare_digest(signature, _signature(key, encoded)):
            raise InvalidSignature("bad signature")
        body = json.loads(_unb64(encoded))
    except (ValueError, TypeError) as error:
        raise InvalidSignature(str(error)) from None
    if "exp" in body and (now if now is not None else time.time()) > body["exp"]:
        raise InvalidSignature("expired")
    return body


def _signature(key: bytes, encoded: str) -> str:
    return _b64(hmac.new(key, encoded.encode(), hashlib.sha256).digest()[:16])


def keyed_hash(key: bytes, *parts: str) -> str:
    """A keyed hash for secrets that must only ever be compared (OTP codes, session tokens)."""
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()
