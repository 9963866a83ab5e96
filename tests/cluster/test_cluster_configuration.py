"""The cluster's configuration without starting anything: timeout rules, secrets, nginx file."""
from __future__ import annotations

import re
import stat
from dataclasses import replace

import pytest

from scripts.cluster_nginx import render_config
from scripts.cluster_settings import SECRET_NAMES, Timeouts, configuration_problems, load_cluster_settings


def test_the_default_timeouts_nest_backend_action_lock_and_client():
    timeouts = Timeouts()
    assert timeouts.problems() == []
    assert timeouts.backend_connect + timeouts.backend_read < timeouts.action_call < timeouts.lock_lifetime
    assert timeouts.public_read > timeouts.lock_lifetime


def test_an_action_timeout_below_two_backend_calls_is_refused():
    problems = Timeouts(backend_read=10, action_call=20, lock_lifetime=100).problems()
    assert len(problems) == 1 and "ACTION_TIMEOUT_SECONDS=20" in problems[0]


def test_rasas_default_lock_lifetime_is_too_short_for_three_slow_action_calls():
    problems = Timeouts(backend_read=10, action_call=30, lock_lifetime=60).problems()
    assert len(problems) == 1 and "TICKET_LOCK_LIFETIME=60" in problems[0]


def test_secrets_come_from_the_environment_else_are_generated_once_into_a_private_file(tmp_path):
    first = load_cluster_settings({"RASA_AUTH_TOKEN": "from-env"}, tmp_path)
    secrets_file = tmp_path / "secrets.env"
    assert first.secrets["RASA_AUTH_TOKEN"] == "from-env"
    assert set(first.secrets) == set(SECRET_NAMES) and len(set(first.secrets.values())) == len(SECRET_NAMES)
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert "from-env" not in secrets_file.read_text()
    again = load_cluster_settings({}, tmp_path)
    assert {k: v for k, v in again.secrets.items() if k != "RASA_AUTH_TOKEN"} == \
           {k: v for k, v in first.secrets.items() if k != "RASA_AUTH_TOKEN"}
    assert again.secrets["RASA_AUTH_TOKEN"] != "from-env"   # generated: the environment no longer sets it


def test_a_lock_key_prefix_rasa_would_ignore_is_refused(tmp_path):
    settings = load_cluster_settings({"LOCK_STORE_KEY_PREFIX": "vaksin-bot"}, tmp_path)
    assert any("LOCK_STORE_KEY_PREFIX" in problem for problem in configuration_problems(settings))


def test_nginx_gets_every_server_the_secret_and_the_timeouts(tmp_path):
    settings = load_cluster_settings({"CLUSTER_RASA_PORTS": "7001,7002,7003"}, tmp_path)
    text = render_config(settings)
    assert all(f"server 127.0.0.1:{port} " in text for port in (7001, 7002, 7003, 5056, 5057))
    assert f'"{settings.secrets["ACTION_SERVER_TOKEN"]}" 1;' in text
    assert "proxy_read_timeout 30s;" in text and "proxy_read_timeout 200s;" in text
    # A POST that reached a server is never resent to another one (it may have been processed).
    retries = [line.strip() for line in text.splitlines() if line.strip().startswith("proxy_next_upstream ")]
    assert retries and all(line == "proxy_next_upstream error timeout;" for line in retries)
    directives = "\n".join(line for line in text.splitlines() if not line.strip().startswith("#"))
    assert not re.search(r"@@[A-Z_]+@@", text)
    assert "$request_uri" not in directives and "$args" not in directives and "$request " not in directives


def test_a_token_that_could_break_out_of_the_nginx_string_is_refused(tmp_path):
    settings = load_cluster_settings({}, tmp_path)
    bad = replace(settings, secrets=dict(settings.secrets, ACTION_SERVER_TOKEN='x" 1; default 1; "'))
    with pytest.raises(ValueError):
        render_config(bad)
