"""Rasa's external-events API: a notification becomes an intent in the user's conversation.

`POST /conversations/<id>/trigger_intent?output_channel=<channel>` with
`{"name": "EXTERNAL_<template>", "entities": {...}}` runs the rule for that intent, whose action
renders the message; Rasa sends it through the named channel (WhatsApp for wa_id conversations)
and the tracker keeps it, so the user's reply is understood in context. With `--auth-token`,
Rasa expects the token as `?token=`.
"""
from __future__ import annotations

import logging
from typing import Dict
from urllib.parse import quote

import requests

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 3.0


class DeliveryFailed(Exception):
    """Rasa did not accept the event; the message is short and holds no personal data."""


class RasaEvents:
    def __init__(self, base_url: str, token: str = "", timeout_seconds: float = 10):
        self.base_url, self.token = base_url.rstrip("/"), token
        self.timeout = (CONNECT_TIMEOUT_SECONDS, timeout_seconds)
        self.http = requests.Session()

    def trigger_intent(self, channel: str, conversation_id: str, intent: str, entities: Dict[str, str]) -> None:
        params = {"output_channel": channel}
        if self.token:
            params["token"] = self.token
        url = f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/trigger_intent"
        try:
            response = self.http.post(url, params=params, json={"name": intent, "entities": entities},
                                      timeout=self.timeout)
        except requests.RequestException as error:
            # No retry here: the ledger marks the delivery failed and a re-run retries it.
            raise DeliveryFailed(f"rasa unreachable ({type(error).__name__})") from None
        if response.status_code != 200:
            raise DeliveryFailed(f"rasa answered {response.status_code}")
