"""Calling the backends from actions: off the event loop, and telling the user what went wrong.

rasa-sdk runs every action as a coroutine on one event loop; a blocking `requests` call made
directly inside `run` would stall every other user's action until it returned.

Backends answer a failure with a stable code and data, never with words: `utter_backend_error` says it
with the domain's response for the code (domain/backend_errors.yml), so trainers and translators find
every sentence of the bot in the domain.
"""
from __future__ import annotations

import asyncio
import functools
import logging
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional, TypeVar

import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions.api.certificate import CertificateClient
from actions.api.errors import BackendError, BackendUnavailable
from actions.api.notifications import NotificationsClient
from actions.api.registration import RegistrationClient

T = TypeVar("T")
log = logging.getLogger(__name__)


async def off_loop(call: Callable[..., T], *args, **kwargs) -> T:
    return await asyncio.to_thread(call, *args, **kwargs)


@functools.lru_cache(maxsize=None)
def registration_client() -> RegistrationClient:
    return RegistrationClient()


@functools.lru_cache(maxsize=None)
def certificate_client() -> CertificateClient:
    return CertificateClient()


@functools.lru_cache(maxsize=None)
def notifications_client() -> NotificationsClient:
    return NotificationsClient()


DOMAIN_DIR = Path(__file__).resolve().parents[1] / "domain"
GENERIC_ERROR_RESPONSE = "utter_backend_error"  # a code the domain has no response for
# Keyword arguments of CollectingDispatcher.utter_message: a data key with one of these names is not a
# template value.
_RESERVED = frozenset({"text", "image", "json_message", "template", "response", "attachment", "buttons",
                       "elements"})


@functools.lru_cache(maxsize=1)
def domain_response_names() -> FrozenSet[str]:
    """The responses of the domain files. Rasa sends actions no responses (rasa_speedups/action_domain.py),
    so they are read here, once, from the same files Rasa trains on."""
    names = set()
    for path in sorted(DOMAIN_DIR.glob("*.yml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        names.update((content.get("responses") or {}).keys())
    if not names:
        log.warning("no domain responses in %s: backend errors get the generic answer", DOMAIN_DIR)
    return frozenset(names)


def error_response(service: str, code: str, data: Optional[Mapping[str, Any]] = None) -> str:
    """The response for a backend's code: the service's own, refined by the error's `field` and `reason`
    where the domain words them apart (`utter_registration_error_field_invalid_facility_length`), else
    the one every backend shares (`utter_backend_error_<code>`: identity rules, API conventions), else
    the generic one."""
    names = domain_response_names()
    data = data if isinstance(data, Mapping) else {}
    refinements = [str(data[key]) for key in ("field", "reason") if isinstance(data.get(key), str)]
    candidates = [f"utter_{service}_error_" + "_".join([code, *refinements[:n]])
                  for n in range(len(refinements), -1, -1)]
    for name in (*candidates, f"utter_backend_error_{code}"):
        if name in names:
            return name
    return GENERIC_ERROR_RESPONSE


def template_values(data: Mapping[str, Any]) -> Dict[str, str]:
    """A backend's data (an error's, an advice's) as response template values: lists joined with commas,
    everything text."""
    values = {}
    for key, value in data.items():
        if not isinstance(key, str) or key in _RESERVED or not key.isidentifier():
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(item) for item in value)
        values[key] = str(value)
    return values


def utter_backend_error(dispatcher: CollectingDispatcher, error: BackendError) -> None:
    """Tells the user what went wrong, in the domain's words for the error's code; a backend that is
    down gets the apology with a way forward (`utter_backend_unavailable`)."""
    if isinstance(error, BackendUnavailable):
        dispatcher.utter_message(response="utter_backend_unavailable")
        return
    code = error.code if isinstance(error.code, str) else ""
    dispatcher.utter_message(response=error_response(error.service or "backend", code, error.data),
                             **template_values(error.data))
