"""Calls from the Rasa server to its HTTP endpoints (the action server above all) on kept-alive
connections, with JSON bodies encoded by ujson.

Rasa 3.6's `EndpointConfig.request` opens a new aiohttp ClientSession, and so a new TCP
connection, for every call, and aiohttp encodes `json=` bodies with the standard json module.
Every custom-action call sends the whole conversation (the tracker's current state with all its
events), one to three calls per message here: encoding it was 7% of the Rasa server's main thread
under load and opening the connection another 3%. This `request` does what Rasa's does (same
headers, parameters, authentication, timeout, errors and response handling) with one session per
endpoint and event loop, whose idle connections are dropped after KEEPALIVE_SECONDS, before the
action server's own keep-alive timeout (Sanic: 5 s) could close one under a new request; and
the body is encoded by ujson (a dependency of Rasa and Sanic).
"""
from __future__ import annotations

import asyncio
import os
import ssl
import weakref
from typing import Any, Optional, Text

import aiohttp
import ujson
from aiohttp import ContentTypeError
from rasa.shared.exceptions import FileNotFoundException
from rasa.utils.endpoints import (DEFAULT_REQUEST_TIMEOUT, ClientResponseError, EndpointConfig,
                                  concat_url)

KEEPALIVE_SECONDS = 3.0


def encode_json(value: Any) -> bytes:
    return ujson.dumps(value, ensure_ascii=False, escape_forward_slashes=False).encode("utf-8")


def shared_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The endpoint's session for the running event loop (created on first use)."""
    loop = asyncio.get_running_loop()
    sessions = endpoint.__dict__.setdefault("_sessions_by_loop", weakref.WeakKeyDictionary())
    session = sessions.get(loop)
    if session is None or session.closed:
        auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
                if endpoint.basic_auth else None)
        session = aiohttp.ClientSession(headers=endpoint.headers, auth=auth,
                                        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
                                        connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_SECONDS))
        sessions[loop] = session
    return session


async def request(self: EndpointConfig, method: Text = "post", subpath: Optional[Text] = None,
                  content_type: Optional[Text] = "application/json", compress: bool = False,
                  **kwargs: Any) -> Optional[Any]:
    """Rasa 3.6's EndpointConfig.request on a shared session, with ujson-encoded `json=` bodies."""
    if kwargs.get("json") is not None:
        kwargs["data"] = encode_json(kwargs.pop("json"))
    headers = {}
    if content_type:
        headers["Content-Type"] = content_type
    if "headers" in kwargs:
        headers.update(kwargs.pop("headers"))
    if self.headers:
        headers.update(self.headers)
    url = concat_url(self.url, subpath)
    sslcontext = None
    if self.cafile:
        try:
            sslcontext = ssl.create_default_context(cafile=self.cafile)
        except FileNotFoundError as error:
            raise FileNotFoundException(f"Failed to find certificate file, "
                                        f"'{os.path.abspath(self.cafile)}' does not exist.") from error
    session = shared_session(self)
    async with session.request(method, url, headers=headers, params=self.combine_parameters(kwargs),
                               compress=compress, ssl=sslcontext, **kwargs) as response:
        if response.status >= 400:
            raise ClientResponseError(response.status, response.reason, await response.content.read())
        try:
            return await response.json()
        except ContentTypeError:
            return None


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((EndpointConfig, "request"),)


def install() -> None:
    EndpointConfig.request = request
