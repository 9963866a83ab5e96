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

_DEFAULT_PORTS = {"registration": 8001, "certificate": 8002}


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
    """Settings for `service` ("registration" or "certificate").

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
    )
    if not settings.development:
        insecure = [
            name
            for name, value in (("API_KEY", settings.api_key), ("SIGNING_KEY", settings.signing_key.decode()))
            if value.startswith("dev-")
        ]
        if insecure:
            raise RuntimeError(
                f"APP_ENV=production needs {', '.join(prefix + '_' + n for n in insecure)} to be set"
            )
    return settings
