"""Configuration of the backend services, read from the environment in one place.

Every variable has a development default so that `make run` works with no setup; production
sets them explicitly (see README, "Configuration").
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = PROJECT_ROOT / "var"

_DEFAULT_PORTS = {"registration": 8001, "certificate": 8002, "notifications": 8003}


@dataclass(frozen=True)
class ServiceSettings:
    service: str
    database_url: str
    api_key: str
    signing_key: bytes
    public_url: str
    environment: str
    sms_gateway: str = "outbox"
    sms_gateway_url: str = ""
    sms_gateway_token: str = ""
    # The key of the officers' tools (e.g. deciding account recoveries), never given to the assistant.
    officer_api_key: str = ""

    @property
    def development(self) -> bool:
        return self.environment != "production"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def default_database_url(service: str) -> str:
    data_dir = Path(_env("DATA_DIR", str(DEFAULT_DATA_DIR)))
    return f"sqlite:///{data_dir / (service + '.sqlite3')}"


def load_settings(service: str) -> ServiceSettings:
    """Settings for `service` ("registration", "certificate" or "notifications").

    `<SERVICE>_DATABASE_URL` wins over the shared `DATABASE_URL`; both fall back to a SQLite
    file under var/. In production (APP_ENV=production) the development keys are refused.
    """
    prefix = service.upper()
    environment = _env("APP_ENV", "development")
    settings = ServiceSettings(
        service=service,
        database_url=_env(f"{prefix}_DATABASE_URL", _env("DATABASE_URL", default_database_url(service))),
        api_key=_env(f"{prefix}_API_KEY", f"dev-{service}-key"),
        signing_key=_env(f"{prefix}_SIGNING_KEY", f"dev-{service}-signing-key").encode(),
        public_url=_env(f"{prefix}_PUBLIC_URL", f"http://localhost:{_DEFAULT_PORTS[service]}").rstrip("/"),
        environment=environment,
        sms_gateway=_env("SMS_GATEWAY", "outbox"),
        sms_gateway_url=_env("SMS_GATEWAY_URL", ""),
        sms_gateway_token=_env("SMS_GATEWAY_TOKEN", ""),
        officer_api_key=_env(f"{prefix}_OFFICER_API_KEY", f"dev-{service}-officer-key"),
    )
    if not settings.development:
        insecure = [
            name
            for name, value in (("API_KEY", settings.api_key), ("SIGNING_KEY", settings.signing_key.decode()),
                                *((("OFFICER_API_KEY", settings.officer_api_key),) if service == "certificate" else ()))
            if value.startswith("dev-")
        ]
        if insecure:
            raise RuntimeError(
                f"APP_ENV=production needs {', '.join(prefix + '_' + n for n in insecure)} to be set"
            )
    return settings


# --- Outbound notifications (backends/notifications, docs/notifications.md) ---------------------

@dataclass(frozen=True)
class NotificationSettings:
    """What the notification sender needs besides its own database and keys."""

    rasa_url: str
    rasa_token: str
    registration_url: str
    registration_api_key: str
    certificate_url: str
    certificate_api_key: str
    messages_per_second: float
    reminder_hour: int
    scheduler_interval_seconds: float
    timeout_seconds: float


def load_notification_settings() -> NotificationSettings:
    """NOTIFICATIONS_* variables, plus where the owning backends and the Rasa server are.

    - RASA_URL (http://localhost:5005), RASA_AUTH_TOKEN (unset: Rasa runs without --auth-token)
    - REGISTRATION_URL / REGISTRATION_API_KEY, CERTIFICATE_URL / CERTIFICATE_API_KEY: the same
      variables the action server reads, so one environment file serves both
    - NOTIFICATIONS_MESSAGES_PER_SECOND (5): the sender's token-bucket rate; WhatsApp Cloud API
      allows far more, but a gentle default spares the Rasa server and the action server
    - NOTIFICATIONS_REMINDER_HOUR (9): local WIB hour after which the day-before reminders go out
    - NOTIFICATIONS_SCHEDULER_INTERVAL_SECONDS (60): how often the scheduler looks for new bookings
    - NOTIFICATIONS_TIMEOUT_SECONDS (10): read timeout of one cohort or trigger_intent call
    """
    return NotificationSettings(
        rasa_url=_env("RASA_URL", "http://localhost:5005").rstrip("/"),
        rasa_token=_env("RASA_AUTH_TOKEN", ""),
        registration_url=_env("REGISTRATION_URL", "http://localhost:8001").rstrip("/"),
        registration_api_key=_env("REGISTRATION_API_KEY", "dev-registration-key"),
        certificate_url=_env("CERTIFICATE_URL", "http://localhost:8002").rstrip("/"),
        certificate_api_key=_env("CERTIFICATE_API_KEY", "dev-certificate-key"),
        messages_per_second=float(_env("NOTIFICATIONS_MESSAGES_PER_SECOND", "5")),
        reminder_hour=int(_env("NOTIFICATIONS_REMINDER_HOUR", "9")),
        scheduler_interval_seconds=float(_env("NOTIFICATIONS_SCHEDULER_INTERVAL_SECONDS", "60")),
        timeout_seconds=float(_env("NOTIFICATIONS_TIMEOUT_SECONDS", "10")),
    )
