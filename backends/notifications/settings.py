"""Configuration of sending: the queue, WhatsApp, Meta's limits, SMS, keys (docs/notifications.md).

Read from the environment in one place, every variable with a development default, like
backends/shared/settings.py (which keeps the settings shared with the other services).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

from backends.notifications.domain import tier_limit

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com/v17.0"
DEV_SEALING_KEY = "dev-notifications-sealing-key"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class DeliverySettings:
    broker_url: str                  # "" = no queue: the command sends itself, one by one (make run)
    queue_name: str
    limits_redis_url: str            # "" = limits of this process only
    state_redis_url: str             # the WhatsApp channel's window store ("" = unknown: templates)
    state_key: bytes
    sealing_key: str
    graph_api_url: str
    phone_number_id: str
    access_token: str
    timeout_seconds: float
    messaging_tier: Optional[int]    # None: unlimited
    messages_per_second: float       # per business phone number
    pair_interval_seconds: float     # between two messages to the same user
    in_doubt_seconds: float          # a send with no answer and no status webhook: re-sent after this
    max_attempts: int
    sms_gateway: str
    sms_gateway_url: str
    sms_gateway_token: str

    @property
    def whatsapp_configured(self) -> bool:
        return bool(self.phone_number_id and self.access_token)


def load_delivery_settings() -> DeliverySettings:
    """- NOTIFICATIONS_BROKER_URL: e.g. amqp://guest:guest@127.0.0.1:5672/%2F (or redis://...)
    - NOTIFICATIONS_LIMITS_REDIS_URL (default WHATSAPP_STATE_REDIS_URL): Meta's limits shared by all workers
    - NOTIFICATIONS_MESSAGING_TIER: 250 | 1k | 10k | 100k | unlimited (or a number), default 1k
    - NOTIFICATIONS_WHATSAPP_MESSAGES_PER_SECOND (80), NOTIFICATIONS_PAIR_INTERVAL_SECONDS (6)
    - NOTIFICATIONS_IN_DOUBT_SECONDS (900), NOTIFICATIONS_MAX_ATTEMPTS (5)
    - WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID, WHATSAPP_GRAPH_API_URL, WHATSAPP_TIMEOUT_SECONDS,
      WHATSAPP_STATE_KEY, WHATSAPP_STATE_REDIS_URL: as for the Rasa server's channel (docs/whatsapp.md)
    - NOTIFICATIONS_SEALING_KEY: seals the recipient's number in the ledger (only workers hold it)
    - SMS_GATEWAY (outbox | http), SMS_GATEWAY_URL, SMS_GATEWAY_TOKEN: as for the certificate service
    """
    state_redis = _env("WHATSAPP_STATE_REDIS_URL")
    environment = _env("APP_ENV", "development")
    settings = DeliverySettings(
        broker_url=_env("NOTIFICATIONS_BROKER_URL"),
        queue_name=_env("NOTIFICATIONS_QUEUE", "notifications"),
        limits_redis_url=_env("NOTIFICATIONS_LIMITS_REDIS_URL", state_redis),
        state_redis_url=state_redis,
        state_key=_env("WHATSAPP_STATE_KEY", "dev-whatsapp-state-key").encode(),
        sealing_key=_env("NOTIFICATIONS_SEALING_KEY", DEV_SEALING_KEY),
        graph_api_url=_env("WHATSAPP_GRAPH_API_URL", DEFAULT_GRAPH_API_URL),
        phone_number_id=_env("WHATSAPP_PHONE_NUMBER_ID"),
        access_token=_env("WHATSAPP_ACCESS_TOKEN"),
        timeout_seconds=float(_env("WHATSAPP_TIMEOUT_SECONDS", "10")),
        messaging_tier=tier_limit(_env("NOTIFICATIONS_MESSAGING_TIER", "1k")),
        messages_per_second=float(_env("NOTIFICATIONS_WHATSAPP_MESSAGES_PER_SECOND", "80")),
        pair_interval_seconds=float(_env("NOTIFICATIONS_PAIR_INTERVAL_SECONDS", "6")),
        in_doubt_seconds=float(_env("NOTIFICATIONS_IN_DOUBT_SECONDS", "900")),
        max_attempts=int(_env("NOTIFICATIONS_MAX_ATTEMPTS", "5")),
        sms_gateway=_env("SMS_GATEWAY", "outbox"),
        sms_gateway_url=_env("SMS_GATEWAY_URL"),
        sms_gateway_token=_env("SMS_GATEWAY_TOKEN"),
    )
    if environment == "production" and (settings.sealing_key == DEV_SEALING_KEY
                                        or settings.state_key.startswith(b"dev-")):
        raise RuntimeError("APP_ENV=production needs NOTIFICATIONS_SEALING_KEY and WHATSAPP_STATE_KEY to be set")
    return settings
