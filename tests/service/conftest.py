"""Fixtures for service tests: a database per test (SQLite and PostgreSQL) and apps on loopback.

Every test gets a database of its own with every service's schema at head. The Alembic migrations
run once per session into a template (a SQLite file, a PostgreSQL database); each test's database is
a copy of it (`sqlite3` backup, `CREATE DATABASE ... TEMPLATE`), which takes milliseconds where
migrating took a few hundred. Tests still call `upgrade_schema` themselves: on a copy it finds the
schema at head and does nothing, and a migration that stopped being idempotent would show there.
"""
from __future__ import annotations

import atexit
import os
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator, List

import psycopg2
import pytest
import uvicorn

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_admin_dsn() -> str:
    return POSTGRES_ADMIN_URL.replace("postgresql+psycopg2://", "postgresql://")


def _postgres_url(name: str) -> str:
    return f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def migrate_every_service(url: str) -> None:
    """Registration, certificate and notifications at head, each with its own version table (as they
    share one database in production)."""
    from backends import certificate, notifications, registration
    from backends.shared.database import upgrade_schema

    for package in (registration, certificate, notifications):
        upgrade_schema(package.MIGRATIONS_DIR, package.VERSION_TABLE, url)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite file migrated once per session; `sqlite_copy` clones it."""
    path = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    migrate_every_service(f"sqlite:///{path}")
    return path


def sqlite_copy(template: Path, path: Path) -> str:
    """A copy of the migrated template at `path` (the backup API also copies what is still in the WAL)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source, target = sqlite3.connect(template), sqlite3.connect(path)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database migrated once per session, the template of every test's database.
    Its name is unique per session: other sessions (other worktrees) may run at the same time."""
    name = f"vaksinbot_test_template_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(_postgres_admin_dsn())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate_every_service(_postgres_url(name))
        with admin.cursor() as cursor:
            # CREATE DATABASE ... TEMPLATE refuses a template anyone is connected to.
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A database of the test's own with every service's schema at head: a SQLite file, or a
    throw-away database on the local PostgreSQL server, both copies of the session's template."""
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path / "test.sqlite3")
        return
    template = request.getfixturevalue("postgres_template")
    name = f"vaksinbot_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(_postgres_admin_dsn())
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield _postgres_url(name)
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Servers told to stop whose threads are still winding down. uvicorn takes a tick of its loop and a
# grace period (0.1 s each) to stop; a test does not wait for that, since its servers' ports are its
# own and nothing of the next test reaches them. They are joined when the interpreter exits.
_STOPPING: List[threading.Thread] = []


@atexit.register
def _join_stopping_servers() -> None:
    for thread in _STOPPING:
        thread.join(timeout=10)


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
            if not thread.is_alive():
                raise RuntimeError("test server exited while starting")
            time.sleep(0.005)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    _STOPPING[:] = [thread for thread in _STOPPING if thread.is_alive()]
    for server, thread in servers:
        server.should_exit = True
        _STOPPING.append(thread)
