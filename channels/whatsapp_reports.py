"""Delivery reports from the webhook to the notification ledger: Meta's status updates of the
messages the campaigns sent, and the replies to them.

The webhook verified the signature; this module turns what it carries into small events with no
phone number (a status keeps our callback data and a SHA-256 digest of Meta's message id, whose
base64 encodes the number) and hands them over:

- with NOTIFICATIONS_BROKER_URL set (production), as a task on the notification queue, so a
  notification service that is down or busy loses nothing (the queue is durable);
- otherwise (`make run`), by `POST {NOTIFICATIONS_URL}/v1/delivery-events` with the API key.

A report that cannot be handed over is logged (count only) and dropped: Meta does not send it
again, and the ledger then shows the message as sent but not delivered.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from typing import Any, Dict, Iterable, List, Optional

import aiohttp

from channels.whatsapp_messages import DeliveryStatus, IncomingMessage

log = logging.getLogger(__name__)
EVENTS_ACTOR = "record_delivery_events"
HTTP_TIMEOUT_SECONDS = 5.0


def message_digest(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8")).hexdigest()


def status_event(status: DeliveryStatus) -> Dict[str, Any]:
    return {"type": "status", "reference": status.callback_data, "message": message_digest(status.message_id),
            "status": status.status, "timestamp": status.timestamp, "error_code": status.error_code}


def reply_event(message: IncomingMessage, marker: Optional[str]) -> Optional[Dict[str, Any]]:
    """A user's message that answers a notification: it quotes one of ours (a quick-reply press
    does), or the user had one waiting (the marker a worker left)."""
    if not marker and not message.context_id:
        return None
    return {"type": "reply", "reference": marker,
            "message": message_digest(message.context_id) if message.context_id else None,
            "timestamp": message.timestamp, "kind": message.kind}


class DeliveryReports:
    def __init__(self, broker_url: str = "", queue_name: str = "notifications", notifications_url: str = "",
                 api_key: str = ""):
        self.broker_url, self.queue_name = broker_url, queue_name
        self.notifications_url, self.api_key = notifications_url.rstrip("/"), api_key
        self._broker = None
        self._session: Optional[aiohttp.ClientSession] = None
        self._session_loop = None

    @classmethod
    def from_environment(cls) -> "DeliveryReports":
        env = os.environ
        return cls(broker_url=env.get("NOTIFICATIONS_BROKER_URL", "").strip(),
                   queue_name=env.get("NOTIFICATIONS_QUEUE", "").strip() or "notifications",
                   notifications_url=env.get("NOTIFICATIONS_URL", "").strip() or "http://localhost:8003",
                   api_key=env.get("NOTIFICATIONS_API_KEY", "").strip() or "dev-notifications-key")

    async def publish(self, events: Iterable[Dict[str, Any]]) -> bool:
        batch: List[Dict[str, Any]] = [event for event in events if event]
        if not batch:
            return True
        try:
            if self.broker_url:
                await asyncio.get_running_loop().run_in_executor(None, self._enqueue, batch)
            else:
                await self._post(batch)
        except Exception as error:  # noqa: BLE001 - the webhook's other work must go on
            log.warning("%d delivery report(s) not handed to the notification service: %s", len(batch),
                        type(error).__name__)
            return False
        return True

    def _enqueue(self, batch: List[Dict[str, Any]]) -> None:
        import dramatiq

        from backends.notifications.queue import make_broker

        if self._broker is None:
            self._broker = make_broker(self.broker_url)
            self._broker.declare_queue(self.queue_name)
        self._broker.enqueue(dramatiq.Message(queue_name=self.queue_name, actor_name=EVENTS_ACTOR, args=(batch,),
                                              kwargs={}, options={}))

    async def _post(self, batch: List[Dict[str, Any]]) -> None:
        loop = asyncio.get_running_loop()
        if self._session is None or self._session.closed or self._session_loop is not loop:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT_SECONDS))
            self._session_loop = loop
        async with self._session.post(f"{self.notifications_url}/v1/delivery-events", json={"events": batch},
                                      headers={"X-API-Key": self.api_key}) as response:
            if response.status >= 300:
                raise RuntimeError(f"HTTP {response.status}")

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None
        if self._broker is not None:
            self._broker.close()
            self._broker = None
