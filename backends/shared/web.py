"""HTTP conventions shared by both services: API-key auth, JSON errors, health, logging."""
from __future__ import annotations

import hmac
import json
import logging
import sys
from typing import Callable, Tuple, Type

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


class ApiError(Exception):
    """A failure the client may show to the user: stable `code`, Indonesian `message`."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


def error_body(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def api_key_dependency(expected_key: str) -> Callable:
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)

    def require_api_key(provided: str = Depends(header)) -> None:
        if not provided or not hmac.compare_digest(provided.encode(), expected_key.encode()):
            raise ApiError(401, "unauthorized", "Akses ditolak: kunci API tidak valid.")

    return require_api_key


def install_error_handlers(app: FastAPI, domain_errors: Tuple[Type[Exception], ...] = ()) -> None:
    """JSON errors everywhere. `domain_errors` are exception classes carrying `status`, `code` and
    `message` (a service's domain errors); identity-rule violations become 422 with their reason."""

    async def _coded(_request: Request, error) -> JSONResponse:
        return JSONResponse(error_body(error.code, error.message), status_code=error.status)

    for error_type in (ApiError, *domain_errors):
        app.add_exception_handler(error_type, _coded)

    @app.exception_handler(InvalidIdentity)
    async def _identity(_request: Request, error: InvalidIdentity) -> JSONResponse:
        return JSONResponse(error_body(error.reason, error.message), status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        fields = sorted({".".join(str(p) for p in e["loc"][1:]) for e in error.errors()})
        message = "Data yang dikirim tidak lengkap atau tidak valid" + (f": {', '.join(fields)}." if fields else ".")
        return JSONResponse(error_body("invalid_request", message), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        messages = {404: ("not_found", "Data tidak ditemukan."), 405: ("method_not_allowed", "Metode tidak didukung.")}
        code, message = messages.get(error.status_code, ("http_error", "Permintaan tidak dapat diproses."))
        return JSONResponse(error_body(code, message), status_code=error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(error).__name__, exc_info=error)
        return JSONResponse(
            error_body("internal_error", "Maaf, sistem sedang mengalami gangguan. Silakan coba lagi nanti."),
            status_code=500,
        )


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
