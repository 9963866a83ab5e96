"""The WhatsApp Cloud API client: `POST {graph_api_url}/{phone_number_id}/messages`, one per message.

Retried: HTTP 429 and 5xx (Meta did not take the message; `Retry-After` is respected, capped) and
connections that could not be opened. Not retried: other 4xx (retrying cannot fix them) and
timeouts after the request went out (Meta may have sent it; a retry could send it twice).

`CloudApiSession` is the same API for the notification workers (synchronous, one `requests`
session per thread): it sends once and returns a `SendOutcome`, because a campaign decides itself
what a refusal means (back off on 130429, wait on 131056, fall back to SMS on 131026; see
backends/notifications/domain.py). It retries only connections that could not be opened.

Logs carry the HTTP status, Meta's error code and subcode and the message type only: never the
recipient, the text or Meta's error message (which can quote the phone number). Because nothing
personal reaches this logger, it has no redaction filter: the filter would hide Meta's six-digit
error codes (131047, 131026, ...), the most useful part of these lines.
"""
from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional

import aiohttp
import requests

log = logging.getLogger(__name__)

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com/v17.0"
CONNECT_TIMEOUT_SECONDS = 3.0


class CloudApiClient:
    def __init__(self, graph_api_url: str, phone_number_id: str, access_token: str, *,
                 timeout_seconds: float = 10.0, max_retries: int = 3, retry_base_delay: float = 0.5,
                 max_retry_after: float = 30.0,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self.messages_url = f"{graph_api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"}
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds, connect=min(CONNECT_TIMEOUT_SECONDS,
                                                                                 timeout_seconds))
        self.max_retries = max_retries
        self.retry_base_delay = retry_base_delay
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop: Optional[asyncio.AbstractEventLoop] = None

    async def send(self, recipient: str, message: Dict[str, Any], callback_data: Optional[str] = None
                   ) -> Optional[str]:
        """Sends one message (`{"type": ..., <type>: {...}}`); returns Meta's message id, or None
        when it was not sent (already logged). Never raises: one failed message must not stop the
        rest of the bot's reply."""
        kind = str(message.get("type"))
        body = message_body(recipient, message, callback_data)
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                status, payload, retry_after = await self._post(body)
            except aiohttp.ClientConnectorError as error:
                status, payload, retry_after = None, None, None
                failure = type(error).__name__
            except (asyncio.TimeoutError, aiohttp.ClientError) as error:
                log.warning("WhatsApp %s message not sent: %s (not retried: it may have gone out)",
                            kind, type(error).__name__)
                return None
            else:
                if status < 300:
                    return _message_id(payload)
                failure = f"HTTP {status}"
            retryable = status is None or status == 429 or status >= 500
            code, subcode = _error_codes(payload)
            if not retryable or attempt == attempts:
                log.warning("WhatsApp %s message not sent: %s, error code %s%s%s", kind, failure, code,
                            f", subcode {subcode}" if subcode is not None else "",
                            f" (after {attempt} attempts)" if attempt > 1 else "")
                return None
            delay = self._delay(attempt, retry_after)
            log.info("WhatsApp %s message: %s, error code %s; retrying in %.2f s (attempt %d of %d)", kind,
                     failure, code, delay, attempt + 1, attempts)
            await self._sleep(delay)
        return None

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def _post(self, body: Dict[str, Any]):
        async with self._current_session().post(self.messages_url, json=body, headers=self._headers) as response:
            try:
                payload = await response.json(content_type=None)
            except ValueError:
                payload = None
            return response.status, payload, response.headers.get("Retry-After")

    def _current_session(self) -> aiohttp.ClientSession:
        # A session belongs to the event loop it was created on: Rasa's server has one; tests may
        # run the channel on another.
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._session_loop = loop
        return self._session

    def _delay(self, attempt: int, retry_after: Optional[str]) -> float:
        try:
            seconds = float(retry_after) if retry_after is not None else None
        except ValueError:  # an HTTP date: rare from the Graph API, fall back to the backoff
            seconds = None
        if seconds is not None and seconds >= 0:
            return min(seconds, self.max_retry_after)
        return self.retry_base_delay * 2 ** (attempt - 1)


@dataclass(frozen=True)
class SendOutcome:
    """What the Graph API answered to one send. `http_status` None: no answer (connection failed
    or timed out); `may_have_been_sent`: the request went out but no answer came back."""

    message_id: Optional[str]
    http_status: Optional[int]
    error_code: Optional[int] = None
    error_subcode: Optional[int] = None
    retry_after: Optional[float] = None
    may_have_been_sent: bool = False

    @property
    def accepted(self) -> bool:
        return self.http_status is not None and self.http_status < 300


def message_body(recipient: str, message: Dict[str, Any], callback_data: Optional[str] = None) -> Dict[str, Any]:
    body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient, **message}
    if callback_data:
        # Comes back in every status webhook of this message: how a report finds its ledger row.
        body["biz_opaque_callback_data"] = callback_data
    return body


class CloudApiSession:
    """Synchronous sends for the notification workers; thread-safe (a `requests.Session` per thread)."""

    def __init__(self, graph_api_url: str, phone_number_id: str, access_token: str, *,
                 timeout_seconds: float = 10.0, connect_retries: int = 2) -> None:
        self.messages_url = f"{graph_api_url.rstrip('/')}/{phone_number_id}/messages"
        self._headers = {"Authorization": f"Bearer {access_token}", "Content-Type": "application/json"}
        self._timeout = (min(CONNECT_TIMEOUT_SECONDS, timeout_seconds), timeout_seconds)
        self.connect_retries = connect_retries
        self._local = threading.local()

    def send(self, recipient: str, message: Dict[str, Any], callback_data: Optional[str] = None) -> SendOutcome:
        kind = str(message.get("type"))
        body = message_body(recipient, message, callback_data)
        for attempt in range(self.connect_retries + 1):
            try:
                response = self._http().post(self.messages_url, json=body, headers=self._headers,
                                             timeout=self._timeout)
            except requests.exceptions.ConnectTimeout:
                failure, retryable = "ConnectTimeout", True
            except requests.ConnectionError as error:
                if _may_have_gone_out(error):
                    log.warning("WhatsApp %s message: connection lost after sending (may have gone out)", kind)
                    return SendOutcome(None, None, may_have_been_sent=True)
                failure, retryable = type(error).__name__, True  # refused or unreachable: nothing went out
            except requests.Timeout as error:
                log.warning("WhatsApp %s message: %s (may have gone out)", kind, type(error).__name__)
                return SendOutcome(None, None, may_have_been_sent=True)
            except requests.RequestException as error:
                log.warning("WhatsApp %s message not sent: %s", kind, type(error).__name__)
                return SendOutcome(None, None, may_have_been_sent=True)
            else:
                return self._outcome(kind, response)
            if retryable and attempt < self.connect_retries:
                time.sleep(0.2 * 2 ** attempt)
                continue
            log.warning("WhatsApp %s message not sent: %s", kind, failure)
            return SendOutcome(None, None)
        return SendOutcome(None, None)

    @staticmethod
    def _outcome(kind: str, response: requests.Response) -> SendOutcome:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code < 300:
            return SendOutcome(_message_id(payload), response.status_code)
        code, subcode = _error_codes(payload)
        log.warning("WhatsApp %s message refused: HTTP %s, error code %s%s", kind, response.status_code, code,
                    f", subcode {subcode}" if subcode is not None else "")
        return SendOutcome(None, response.status_code, _int(code), _int(subcode),
                           _seconds(response.headers.get("Retry-After")))

    def _http(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session


def _may_have_gone_out(error: Exception) -> bool:
    # "Connection aborted" / "RemoteDisconnected": the server had the request and closed on us.
    text = str(error)
    return "aborted" in text or "RemoteDisconnected" in text or "reset by peer" in text


def _int(value: Any) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _seconds(value: Optional[str]) -> Optional[float]:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def log_delivery_failure(error_code: Optional[int]) -> None:
    """A `failed` status update from the webhook: Meta accepted a message, then could not deliver it."""
    log.warning("WhatsApp reported an undelivered message: error code %s", error_code)


def _message_id(payload: Any) -> Optional[str]:
    try:
        return str(payload["messages"][0]["id"])
    except (KeyError, IndexError, TypeError):
        return None


def _error_codes(payload: Any):
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None, None
    return error.get("code"), error.get("error_subcode")
