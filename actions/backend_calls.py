"""Runs blocking backend calls off the action server's event loop.

rasa-sdk runs every action as a coroutine on one event loop; a blocking `requests` call made
directly inside `run` would stall every other user's action until it returned.
"""
from __future__ import annotations

import asyncio
import functools
from typing import Callable, TypeVar

from actions.api.certificate import CertificateClient
from actions.api.notifications import NotificationsClient
from actions.api.registration import RegistrationClient

T = TypeVar("T")


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
