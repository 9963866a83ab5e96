"""The cluster of scripts/cluster.py, once per module, on free ports, against the real PostgreSQL
and Redis: throw-away databases and a Redis key prefix unique to the run, removed afterwards.

The timeouts are scaled down from production (so a lock left by a killed server expires in
46 s instead of 100 s) but obey the same rules (scripts/cluster_settings.Timeouts.problems).
Rasa server 1 ("A") reaches the action servers through an ActionProbe, which can hold one
action's response so that a test can kill A mid-turn. The reminders scheduler runs with reminder
hour 0, so that its first tick sends (an empty cohort) at any time of day.
"""
from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import replace
from typing import Iterator

import psycopg2
import pytest
import redis

from scripts.cluster import Cluster
from scripts.cluster_settings import SECRET_NAMES, Timeouts, configuration_problems, load_cluster_settings
from tests.cluster.action_probe import ActionProbe
from tests.service.conftest import POSTGRES_ADMIN_URL, _postgres_admin_dsn, free_port

TEST_TIMEOUTS = Timeouts(backend_read=3, action_call=12, lock_lifetime=46)


def _drop_databases(names) -> None:
    admin = psycopg2.connect(_postgres_admin_dsn())
    admin.autocommit = True
    with admin.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    run = uuid.uuid4().hex[:10]
    databases = {"backends": f"vaksinbot_cluster_{run}", "tracker": f"vaksinbot_cluster_conv_{run}"}
    server = POSTGRES_ADMIN_URL.replace("postgresql+psycopg2://", "postgresql://").rsplit("/", 1)[0]
    credentials, host_port = server.split("://", 1)[1].rsplit("@", 1)
    host, _, port = host_port.partition(":")
    user, _, password = credentials.partition(":")
    env = {
        "DATABASE_URL": f"{server}/{databases['backends']}",
        "TRACKER_DB_HOST": host, "TRACKER_DB_PORT": port or "5432", "TRACKER_DB_NAME": databases["tracker"],
        "TRACKER_DB_USER": user, "TRACKER_DB_PASSWORD": password,
        "LOCK_STORE_KEY_PREFIX": f"vbtest{run}",
        # Lets the same tests run against another lock store class (docs/production.md, "Rasa 3.6's lock store, and ours").
        "LOCK_STORE_TYPE": os.environ.get("LOCK_STORE_TYPE", ""),
        "CLUSTER_PUBLIC_PORT": str(free_port()), "CLUSTER_ACTIONS_PORT": str(free_port()),
        "CLUSTER_RASA_PORTS": f"{free_port()},{free_port()}",
        "CLUSTER_ACTION_SERVER_PORTS": f"{free_port()},{free_port()}",
        "CLUSTER_REGISTRATION_PORT": str(free_port()), "CLUSTER_CERTIFICATE_PORT": str(free_port()),
        "CLUSTER_NOTIFICATIONS_PORT": str(free_port()),
        **{name: secrets.token_urlsafe(24) for name in SECRET_NAMES},
    }
    settings = replace(load_cluster_settings(env, tmp_path_factory.mktemp("cluster")), timeouts=TEST_TIMEOUTS)
    assert configuration_problems(settings) == []
    probe = ActionProbe(settings.actions_lb_url).start()
    running = Cluster(settings, rasa_env={0: {"ACTION_SERVER_URL": f"{probe.url}/webhook"}},
                      process_env={"reminders": {"NOTIFICATIONS_REMINDER_HOUR": "0"}})
    running.probe = probe
    try:
        yield running.start()
    finally:
        running.stop()
        probe.stop()
        _drop_databases(databases.values())
        lock = settings.lock_store
        client = redis.Redis(host=lock.host, port=lock.port, db=lock.db, password=lock.password or None)
        for key in client.scan_iter(f"{lock.key_prefix}:*"):
            client.delete(key)
