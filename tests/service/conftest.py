"""Fixtures for service tests: a database per test (SQLite and PostgreSQL) and apps on loopback."""
from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from typing import Callable, Iterator

import psycopg2
import pytest
import uvicorn

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_admin_dsn() -> str:
    return POSTGRES_ADMIN_URL.replace("postgresql+psycopg2://", "postgresql://")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """An empty database: a SQLite file, or a throw-away database on the local PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    name = f"vaksinbot_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(_postgres_admin_dsn())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve_app() -> Iterator[Callable]:
    """`serve_app(app) -> base_url`: runs an ASGI app with uvicorn in a thread until the test ends."""
    servers = []

    def start(app) -> str:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none",
                                               access_log=False))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, _thread in servers:  # all at once: each takes a tick of its loop to notice
        server.should_exit = True
    for _server, thread in servers:
        thread.join(timeout=10)
