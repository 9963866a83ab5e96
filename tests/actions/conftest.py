"""Fixtures for action tests: a live registration backend and real Tracker objects."""
from __future__ import annotations

import functools
import random
from pathlib import Path

import pytest
from rasa_sdk import Tracker

from actions import backend_calls
from backends.registration import MIGRATIONS_DIR, VERSION_TABLE
from backends.registration.api import create_app
from backends.registration.seed import seed
from backends.shared.clock import today_wib
from backends.shared.database import make_engine, make_session_factory, upgrade_schema
from backends.shared.settings import ServiceSettings
from tests.service.conftest import (  # noqa: F401 - shared fixtures
    database_url, postgres_databases, serve_app, sqlite_copy, sqlite_template)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def live_registration(tmp_path, serve_app, sqlite_template, monkeypatch):  # noqa: F811
    """The registration service with demo data on loopback; the action clients point at it."""
    url = sqlite_copy(sqlite_template, tmp_path / "registration.sqlite3")  # migrated once per session
    upgrade_schema(MIGRATIONS_DIR, VERSION_TABLE, url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        seed(session, today_wib(), random.Random(1))
    settings = ServiceSettings(service="registration", database_url=url, api_key="action-test-key",
                               signing_key=b"k", public_url="http://registration.test", environment="development")
    base_url = serve_app(create_app(settings))
    monkeypatch.setenv("REGISTRATION_URL", base_url)
    monkeypatch.setenv("REGISTRATION_API_KEY", "action-test-key")
    backend_calls.registration_client.cache_clear()
    client = backend_calls.registration_client()
    client.sessions = sessions  # lets a test change the backend's data directly
    yield client
    backend_calls.registration_client.cache_clear()
    engine.dispose()


@functools.lru_cache(maxsize=None)
def full_rasa_domain() -> dict:
    """The whole domain, responses included (what the Rasa server renders)."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(ROOT / "domain")).as_dict()


@functools.lru_cache(maxsize=None)
def rasa_domain() -> dict:
    """The domain as the Rasa server sends it to the action server (rasa_speedups/action_domain.py)."""
    from rasa_speedups.action_domain import action_server_domain

    return action_server_domain(full_rasa_domain())


def sealed(slot: str, value, sender_id: str = "action-test") -> str:
    """`value` sealed for `slot` of the conversation `sender_id` (form_tracker's default)."""
    from actions.sealing import seal

    return seal(Tracker(sender_id, {}, {}, [], False, None, None, None), slot, value)


def opened(slot: str, value, sender_id: str = "action-test"):
    from actions.sealing import unseal

    return unseal(Tracker(sender_id, {}, {}, [], False, None, None, None), slot, value)


# The demo health workers' birth dates (backends/registration/seed.py): the second factor.
DEMO_BIRTH_DATES = {"900012": "1990-06-13", "880021": "1988-02-04"}


def demo_target_id(client, nik_suffix: str) -> int:
    import datetime as dt

    from actions.api.registration import Identification

    born = dt.date.fromisoformat(DEMO_BIRTH_DATES[nik_suffix])
    return client.lookup_health_worker(Identification(nik_suffix, ["test"], birth_date=born)).target_id


def form_tracker(form: str, requested_slot: str, text: str, slots: dict, intent: str = "inform",
                 sender_id: str = "action-test", input_channel: str = "rest", entities: list = ()) -> Tracker:
    """A tracker in the middle of `form`, just after the user answered `requested_slot` with `text`."""
    all_slots = dict(slots, requested_slot=requested_slot, **{requested_slot: text})
    events = [{"event": "action", "name": form},
              {"event": "user", "text": text, "input_channel": input_channel,
               "parse_data": {"intent": {"name": intent, "confidence": 0.9}}},
              {"event": "slot", "name": requested_slot, "value": text}]
    return Tracker(sender_id=sender_id, slots=all_slots,
                   latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                                   "entities": list(entities)},
                   events=events, paused=False, followup_action=None, active_loop={"name": form},
                   latest_action_name="action_listen")


@pytest.fixture
def live_certificate(tmp_path, serve_app, sqlite_template, monkeypatch):  # noqa: F811
    """The certificate service with demo data on loopback; the action clients point at it."""
    from backends.certificate import MIGRATIONS_DIR as CERT_MIGRATIONS, VERSION_TABLE as CERT_VERSION_TABLE
    from backends.certificate.api import create_app as create_certificate_app
    from backends.certificate.seed import seed as seed_certificates

    url = sqlite_copy(sqlite_template, tmp_path / "certificate.sqlite3")
    upgrade_schema(CERT_MIGRATIONS, CERT_VERSION_TABLE, url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        seed_certificates(session, today_wib(), random.Random(1), count=10)
    settings = ServiceSettings(service="certificate", database_url=url, api_key="action-test-key",
                               signing_key=b"k", public_url="http://certificate.test", environment="development")
    app = create_certificate_app(settings)
    base_url = serve_app(app)
    monkeypatch.setenv("CERTIFICATE_URL", base_url)
    monkeypatch.setenv("CERTIFICATE_API_KEY", "action-test-key")
    backend_calls.certificate_client.cache_clear()
    client = backend_calls.certificate_client()
    client.sessions, client.outbox = sessions, app.state.gateway
    yield client
    backend_calls.certificate_client.cache_clear()
    engine.dispose()
