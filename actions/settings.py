"""Configuration of the action server, read from the environment in one place."""
from __future__ import annotations

import os
from dataclasses import dataclass


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass(frozen=True)
class BackendSettings:
    url: str
    api_key: str
    timeout_seconds: float


def registration_backend() -> BackendSettings:
    return BackendSettings(url=_env("REGISTRATION_URL", "http://localhost:8001"),
                           api_key=_env("REGISTRATION_API_KEY", "dev-registration-key"),
                           timeout_seconds=float(_env("BACKEND_TIMEOUT_SECONDS", "10")))


def certificate_backend() -> BackendSettings:
    return BackendSettings(url=_env("CERTIFICATE_URL", "http://localhost:8002"),
                           api_key=_env("CERTIFICATE_API_KEY", "dev-certificate-key"),
                           timeout_seconds=float(_env("BACKEND_TIMEOUT_SECONDS", "10")))


def vaccine_video_url() -> str:
    """The short video on how the vaccine works, linked from every ticket."""
    return _env("VACCINE_VIDEO_URL", "https://www.youtube.com/@KementerianKesehatanRI")


def notifications_backend() -> BackendSettings:
    """The notification service (opt-out / opt-in); NOTIFICATIONS_URL defaults to port 8003."""
    return BackendSettings(url=_env("NOTIFICATIONS_URL", "http://localhost:8003"),
                           api_key=_env("NOTIFICATIONS_API_KEY", "dev-notifications-key"),
                           timeout_seconds=float(_env("BACKEND_TIMEOUT_SECONDS", "10")))
