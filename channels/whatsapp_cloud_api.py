"""The WhatsApp Cloud API client: `POST {graph_api_url}/{phone_number_id}/messages`, one per message.

Retried: HTTP 429 and 5xx (Meta did not take the message; `Retry-After` is respected, capped) and
connections that could not be opened. Not retried: other 4xx (retrying cannot fix them) and
timeouts after the request went out (Meta may have sent it; a retry could send it twice).

Logs carry the HTTP status, Meta's error code and subcode and the message type only: never the
recipient, the text or Meta's error message (which can quote the phone number). Because nothing
personal reaches this logger, it has no redaction filter: the filter would hide Meta's six-digit
error codes (131047, 131026, ...), the most useful part of these lines.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

import aiohttp

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

    async def send(self, recipient: str, message: Dict[str, Any]) -> Optional[str]:
        """Sends one message (`{"type": ..., <type>: {...}}`); returns Meta's message id, or None
        when it was not sent (already logged). Never raises: one failed message must not stop the
        rest of the bot's reply."""
        kind = str(message.get("type"))
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": recipient, **message}
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
