"""Typed client of the notification service: a conversation's notification preference."""
from __future__ import annotations

from typing import Optional

from actions.api.http import JsonHttp
from actions.settings import BackendSettings, notifications_backend


class NotificationsClient:
    def __init__(self, settings: Optional[BackendSettings] = None):
        self.http = JsonHttp(settings or notifications_backend(), "notifications")

    def opt_out(self, channel: str, conversation_id: str) -> bool:
        """Stops notifications to this conversation; True once recorded (idempotent)."""
        body = {"channel": channel, "conversation_id": conversation_id}
        return self.http.post("/v1/preferences/opt-out", body)["opted_out"]

    def opt_in(self, channel: str, conversation_id: str) -> bool:
        """Resumes notifications; returns the stored opted_out flag (False)."""
        body = {"channel": channel, "conversation_id": conversation_id}
        return self.http.post("/v1/preferences/opt-in", body)["opted_out"]
