"""HTTP conventions shared by both services: API-key auth, JSON errors, health, logging."""
from __future__ import annotations

import hmac
import json
import logging
import sys
from typing import Any, Callable, Dict, Optional, Tuple, Type

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from backends.shared.database import database_ok
from backends.shared.identity import InvalidIdentity
from privacy.logs import RedactingFilter, install_log_redaction, redact_log_text

API_KEY_HEADER = "X-API-Key"
log = logging.getLogger(__name__)


# Codes any service may answer with, besides its domain errors and the identity rules' reasons.
GENERIC_CODES = ("unauthorized", "invalid_request", "not_found", "method_not_allowed", "http_error",
                 "internal_error")


class ApiError(Exception):
    """A failure the client may explain to the user: stable `code`, `data`, English `detail`."""

    def __init__(self, status: int, code: str, *, detail: Optional[str] = None, **data: Any):
        super().__init__(detail or code)
        self.status, self.code, self.detail, self.data = status, code, detail, data


def error_body(code: str, *, detail: Optional[str] = None, data: Optional[Dict[str, Any]] = None) -> dict:
    """`{"error": {"code", "data", "detail"?}}`: clients choose their words by `code`."""
    error: Dict[str, Any] = {"code": code, "data": dict(data or {})}
    if detail:
        error["detail"] = detail
    return {"error": error}


def api_key_dependency(expected_key: str) -> Callable:
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)

    def require_api_key(provided: str = Depends(header)) -> None:
        if not provided or not hmac.compare_digest(provided.encode(), expected_key.encode()):
            raise ApiError(401, "unauthorized", detail="Missing or wrong API key.")

    return require_api_key


def install_error_handlers(app: FastAPI, domain_errors: Tuple[Type[Exception], ...] = ()) -> None:
    """JSON errors everywhere, with no words for the user (clients word them by code). `domain_errors`
    are exception classes carrying `status`, `code`, `data` and `detail` (a service's domain errors);
    identity-rule violations become 422 with their reason as code."""

    def body(code: str, detail: Optional[str] = None, data: Optional[Dict[str, Any]] = None) -> dict:
        return error_body(code, detail=detail, data=data)

    async def _coded(_request: Request, error) -> JSONResponse:
        data = dict(getattr(error, "data", None) or {})
        headers = {"Retry-After": str(int(data["retry_after_seconds"]))} if "retry_after_seconds" in data else None
        return JSONResponse(body(error.code, getattr(error, "detail", None), data), status_code=error.status,
                            headers=headers)

    for error_type in (ApiError, *domain_errors):
        app.add_exception_handler(error_type, _coded)

    @app.exception_handler(InvalidIdentity)
    async def _identity(_request: Request, error: InvalidIdentity) -> JSONResponse:
        return JSONResponse(body(error.reason, "Breaks an identity rule.", getattr(error, "data", None)),
                            status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) for e in error.errors()})
        return JSONResponse(body("invalid_request", "Missing or malformed fields.", {"fields": fields}),
                            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
        return JSONResponse(body(code, str(error.detail or "")), status_code=error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(error).__name__, exc_info=error)
        return JSONResponse(body("internal_error", "Unexpected error."), status_code=500)


def add_health_route(app: FastAPI, service: str, engine: Engine) -> None:
    @app.get("/health", tags=["operations"], summary="Liveness and database check")
    def health() -> JSONResponse:
        ok = database_ok(engine)
        return JSONResponse({"status": "ok" if ok else "degraded", "service": service, "database": ok},
                            status_code=200 if ok else 503)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            # Redacted again here: a record made before install_log_redaction() ran is caught too.
            "message": redact_log_text(record.getMessage()),
        }
        for key in ("event", "service", "request_id"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """Structured JSON logs on stdout; every message is redacted of NIKs, phone numbers and codes."""
    install_log_redaction()
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # Access logs stay as uvicorn configured them (off with --no-access-log), but never show
    # query strings: capability tokens (certificate download links, ticket codes) travel there.
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, QueryStringFilter) for f in access.filters):
        access.addFilter(QueryStringFilter())
        access.addFilter(RedactingFilter())


class QueryStringFilter(logging.Filter):
    """uvicorn access records carry (client, method, path, http_version, status): drop `?…`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5 and isinstance(record.args[2], str):
            args = list(record.args)
            args[2] = args[2].split("?", 1)[0]
            record.args = tuple(args)
        return True
