"""SMS delivery: an in-memory outbox for development and an HTTP gateway for production.

Message texts carry OTP codes, so they are never logged or written to the database.
"""
from __future__ import annotations

import collections
import datetime as dt
import logging
import threading
from dataclasses import dataclass
from typing import Deque, List, Optional, Protocol

import requests

from backends.certificate.domain import SmsUnavailable
from privacy.masking import mask_phone
from backends.shared.settings import ServiceSettings

log = logging.getLogger(__name__)
OUTBOX_SIZE = 500
HTTP_TIMEOUT_SECONDS = 10


class SmsGateway(Protocol):
    def send(self, phone: str, text: str) -> None:
        ...


@dataclass(frozen=True)
class OutboxMessage:
    phone: str
    text: str
    sent_at: dt.datetime


class OutboxGateway:
    """Keeps the last messages in memory only, so a developer (or a test) can read the OTP."""

    def __init__(self, size: int = OUTBOX_SIZE):
        self._messages: Deque[OutboxMessage] = collections.deque(maxlen=size)
        self._lock = threading.Lock()

    def send(self, phone: str, text: str) -> None:
        with self._lock:
            self._messages.append(OutboxMessage(phone, text, dt.datetime.now(dt.timezone.utc)))
        log.info("sms sent to %s", mask_phone(phone), extra={"event": "sms_sent"})

    def messages(self, phone: Optional[str] = None) -> List[OutboxMessage]:
        with self._lock:
            return [m for m in self._messages if phone is None or m.phone == phone]


class HttpSmsGateway:
    """POSTs {"to", "text"} as JSON to the operator's gateway with a bearer token."""

    def __init__(self, url: str, token: str, timeout: float = HTTP_TIMEOUT_SECONDS):
        self._url, self._token, self._timeout = url, token, timeout

    def send(self, phone: str, text: str) -> None:
        try:
            response = requests.post(
                self._url,
                json={"to": phone, "text": text},
                headers={"Authorization": f"Bearer {self._token}"},
                timeout=self._timeout,
            )
            response.raise_for_status()
        except requests.RequestException as error:
            log.warning("sms to %s failed: %s", mask_phone(phone), type(error).__name__, extra={"event": "sms_failed"})
            raise SmsUnavailable() from None
        log.info("sms sent to %s", mask_phone(phone), extra={"event": "sms_sent"})


def make_gateway(settings: ServiceSettings) -> SmsGateway:
    if settings.sms_gateway == "outbox":
        if not settings.development:
            log.warning("SMS_GATEWAY=outbox in production: OTP codes are not delivered to anyone")
        return OutboxGateway()
    if settings.sms_gateway == "http":
        if not settings.sms_gateway_url:
            raise RuntimeError("SMS_GATEWAY=http needs SMS_GATEWAY_URL to be set")
        return HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token)
    raise RuntimeError(f"unknown SMS_GATEWAY {settings.sms_gateway!r}: use 'outbox' or 'http'")
