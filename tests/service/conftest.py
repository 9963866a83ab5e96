"""Fixtures for service tests: a database per test (SQLite and PostgreSQL) and apps on loopback.

Every test gets a database of its own with every service's schema at head. The Alembic migrations
run once per session into a template (a SQLite file, a PostgreSQL database); each test's database is
a copy of it (`sqlite3` backup; `CREATE DATABASE ... TEMPLATE`, cloned ahead by a thread), where
migrating each one took a few hundred milliseconds. Tests still call `upgrade_schema` themselves: on
a copy it finds the schema at head and does nothing.
"""
from __future__ import annotations

import atexit
import itertools
import os
import queue
import socket
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Callable, Iterator, List, Optional

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


class PostgresDatabases:
    """Throw-away databases cloned from a template migrated once per session.

    `CREATE DATABASE ... TEMPLATE` copies the template's catalogs (~100 ms here), and `DROP ... WITH
    (FORCE)` waits for the backends it terminates (servers of the finished test may still hold
    connections), so a thread of its own clones the next databases and drops the used ones while the
    tests run; every test still gets a database nobody used before. Names are unique per session:
    other sessions (other worktrees) use the same server at the same time.
    """

    AHEAD = 2

    def __init__(self) -> None:
        self.prefix = f"vaksinbot_test_{uuid.uuid4().hex[:8]}"
        self.template = f"{self.prefix}_template"
        self._ready: "queue.Queue[object]" = queue.Queue()
        self._used: "queue.Queue[str]" = queue.Queue()
        self._wake = threading.Event()
        self._closing = threading.Event()
        self._failure: Optional[Exception] = None
        admin = self._connect()
        try:
            with admin.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{self.template}"')
            try:
                migrate_every_service(_postgres_url(self.template))
            except BaseException:
                self._drop(admin, self.template)
                raise
            with admin.cursor() as cursor:
                # CREATE DATABASE ... TEMPLATE refuses a template anyone is connected to.
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                               (self.template,))
        finally:
            admin.close()
        self._worker = threading.Thread(target=self._work, name="postgres-databases", daemon=True)
        self._worker.start()

    @staticmethod
    def _connect():
        connection = psycopg2.connect(_postgres_admin_dsn())
        connection.autocommit = True
        return connection

    @staticmethod
    def _drop(connection, name: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _work(self) -> None:
        numbers = itertools.count(1)
        try:
            connection = self._connect()
            try:
                while not self._closing.is_set():
                    self._wake.clear()
                    if self._ready.qsize() < self.AHEAD:
                        name = f"{self.prefix}_{next(numbers)}"
                        with connection.cursor() as cursor:
                            cursor.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                        self._ready.put(name)
                        continue
                    while not self._used.empty():
                        self._drop(connection, self._used.get())
                    self._wake.wait(0.5)
            finally:
                connection.close()
        except Exception as error:  # noqa: BLE001 - raised in every test that waits for a database
            self._failure = error
            self._ready.put(error)

    def take(self) -> str:
        """The name of a new database; give it back with `give_back` when the test ends."""
        if self._failure is not None:
            raise self._failure
        ready = self._ready.get(timeout=60)
        self._wake.set()  # one fewer ahead: the worker clones the next
        if isinstance(ready, Exception):
            raise ready
        return ready

    def give_back(self, name: str) -> None:
        """Dropped by the worker once it has cloned the next ones."""
        self._used.put(name)
        self._wake.set()

    def close(self) -> None:
        self._closing.set()
        self._wake.set()
        self._worker.join(timeout=60)
        leftovers = [self._used.get() for _ in range(self._used.qsize())]
        leftovers += [name for name in (self._ready.get() for _ in range(self._ready.qsize()))
                      if isinstance(name, str)]
        admin = self._connect()
        try:
            for name in leftovers + [self.template]:
                self._drop(admin, name)
        finally:
            admin.close()


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases()
    yield databases
    databases.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> Iterator[str]:
    """A database of the test's own with every service's schema at head: a SQLite file, or a
    throw-away database on the local PostgreSQL server, both copies of the session's template."""
    if request.param == "sqlite":
        yield sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path / "test.sqlite3")
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres_databases")
    name = databases.take()
    try:
        yield _postgres_url(name)
    finally:
        databases.give_back(name)


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
