"""The HTTP plumbing every backend client shares: session, timeouts, retries, error mapping."""
from __future__ import annotations

import logging
from typing import Any, Optional

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from actions.api.errors import BackendError, BackendUnavailable, NotFound, Rejected
from actions.settings import BackendSettings

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_SECONDS = 3.0


class JsonHttp:
    """`requests.Session` bound to one backend. Only idempotent GETs are retried (on connection
    errors and 502/503/504); POSTs carry request ids so the backend can deduplicate instead."""

    def __init__(self, settings: BackendSettings, service: str):
        self.base_url = settings.url.rstrip("/")
        self.timeout = (CONNECT_TIMEOUT_SECONDS, settings.timeout_seconds)
        self.service = service
        self.session = requests.Session()
        self.session.headers.update({"X-API-Key": settings.api_key, "Accept": "application/json"})
        retry = Retry(total=2, connect=2, read=1, backoff_factor=0.2, status_forcelist=(502, 503, 504),
                      allowed_methods=frozenset({"GET"}), raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry, pool_maxsize=32))
        self.session.mount("https://", HTTPAdapter(max_retries=retry, pool_maxsize=32))

    def get(self, path: str, params: Optional[dict] = None, headers: Optional[dict] = None) -> Any:
        return self._call("GET", path, params=params, headers=headers)

    def post(self, path: str, body: Optional[dict] = None, headers: Optional[dict] = None) -> Any:
        return self._call("POST", path, json=body, headers=headers)

    def delete(self, path: str, headers: Optional[dict] = None) -> Any:
        return self._call("DELETE", path, headers=headers)

    def put(self, path: str, body: Optional[dict] = None, headers: Optional[dict] = None) -> Any:
        return self._call("PUT", path, json=body, headers=headers)

    def _call(self, method: str, path: str, **kwargs) -> Any:
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            # The URL may carry no personal data (the backends take it in bodies), but log the path only.
            log.warning("%s backend unreachable: %s %s (%s)", self.service, method, path.split("?")[0],
                        type(error).__name__)
            raise BackendUnavailable(code="unavailable", service=self.service) from None
        if response.status_code >= 500:
            log.warning("%s backend error %s on %s %s", self.service, response.status_code, method, path)
            raise BackendUnavailable(code="server_error", status=response.status_code, service=self.service)
        if response.status_code >= 400:
            code, message, detail, data = _error_fields(response)
            error_type = NotFound if response.status_code == 404 else Rejected
            raise error_type(message, code=code, status=response.status_code, data=data, detail=detail,
                             service=self.service)
        if not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content


def _error_fields(response: requests.Response):
    """`{"error": {"code", "data", "detail", "message"?}}` (backends.shared.web.error_body); anything else
    becomes `http_<status>` with no data."""
    try:
        error = response.json()["error"]
        code = error["code"]
        if not isinstance(code, str) or not code:
            raise TypeError(code)
    except (ValueError, KeyError, TypeError):
        return "http_%d" % response.status_code, "", "", {}
    data = error.get("data")
    message, detail = error.get("message"), error.get("detail")
    return (code, message if isinstance(message, str) else "", detail if isinstance(detail, str) else "",
            data if isinstance(data, dict) else {})


__all__ = ["JsonHttp", "BackendError", "BackendUnavailable", "NotFound", "Rejected"]
