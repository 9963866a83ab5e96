"""Configuration of the local production-like cluster (`python -m scripts.cluster`), from the
environment in one place, with the rules that keep its timeouts consistent.

Every variable has a default for this machine (PostgreSQL and Redis on 127.0.0.1); the secrets
are taken from the environment or, when absent, generated once and kept in
var/cluster/secrets.env (mode 600, never committed). The list and the reasons: docs/production.md.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Tuple

from actions.api.http import CONNECT_TIMEOUT_SECONDS

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE_DIR = ROOT / "var" / "cluster"

# Secrets of the cluster. Each process gets only the ones it needs (scripts/cluster.py).
SECRET_NAMES = (
    "RASA_AUTH_TOKEN",            # Rasa's HTTP API (`--auth-token`, sent as ?token=)
    "ACTION_SERVER_TOKEN",        # header X-Action-Token, checked by nginx in front of the action servers
    "REGISTRATION_API_KEY", "CERTIFICATE_API_KEY",            # X-API-Key of the backends
    "REGISTRATION_SIGNING_KEY", "CERTIFICATE_SIGNING_KEY",    # HMAC keys of the backends
    "CERTIFICATE_OFFICER_API_KEY",  # officers' tools only (deciding account recoveries), never the assistant
    "NOTIFICATIONS_API_KEY",      # X-API-Key of the notification service (sent by the action servers)
    "NOTIFICATIONS_SIGNING_KEY",  # notification service and scheduler only: recipient hashes
    "SLOT_SEALING_KEY",           # action servers only: sealed slot values
)

# A turn runs at most this many custom-action calls in this assistant's flows: the form's
# validation, a custom "ask" action, and the action after the form.
ACTION_CALLS_PER_TURN = 3
# NLU, policies, loading and saving the tracker: a few hundred ms, with room for a slow database.
TURN_OVERHEAD_SECONDS = 10
# An action may make two backend calls at their worst (or one GET retried once, actions/api/http.py).
BACKEND_ATTEMPTS_PER_ACTION = 2


@dataclass(frozen=True)
class Timeouts:
    """The chain of timeouts, inner to outer; `problems()` says which rule a choice breaks.

    backend call (connect + read)  <  action call (nginx)  <  ticket lock (Redis)  <  client wait
    """
    backend_read: float = 10.0         # BACKEND_TIMEOUT_SECONDS, read by the action server
    action_call: float = 30.0          # ACTION_TIMEOUT_SECONDS, nginx proxy_read_timeout to the action servers
    lock_lifetime: int = 100           # TICKET_LOCK_LIFETIME, read by Rasa (its default: 60)
    backend_connect: float = CONNECT_TIMEOUT_SECONDS

    @property
    def public_read(self) -> int:
        """How long nginx waits for a Rasa server: one earlier message of the same user holding the
        lock for its whole lifetime, then this message's own turn."""
        return 2 * self.lock_lifetime

    def problems(self) -> List[str]:
        found = []
        worst_action = BACKEND_ATTEMPTS_PER_ACTION * (self.backend_connect + self.backend_read)
        if self.action_call < worst_action:
            found.append(f"ACTION_TIMEOUT_SECONDS={self.action_call:g} is below {worst_action:g} s, "
                         f"{BACKEND_ATTEMPTS_PER_ACTION} backend calls of {self.backend_connect:g} s connect + "
                         f"{self.backend_read:g} s read (BACKEND_TIMEOUT_SECONDS)")
        worst_turn = ACTION_CALLS_PER_TURN * self.action_call + TURN_OVERHEAD_SECONDS
        if self.lock_lifetime < worst_turn:
            found.append(f"TICKET_LOCK_LIFETIME={self.lock_lifetime} is below {worst_turn:g} s, "
                         f"{ACTION_CALLS_PER_TURN} action calls of ACTION_TIMEOUT_SECONDS={self.action_call:g} "
                         f"+ {TURN_OVERHEAD_SECONDS} s: a turn could outlive its lock and run beside the next one")
        return found


@dataclass(frozen=True)
class TrackerDatabase:
    host: str
    port: int
    name: str
    user: str
    password: str

    def url(self, database: str = "") -> str:
        credentials = self.user + (f":{self.password}" if self.password else "")
        return f"postgresql://{credentials}@{self.host}:{self.port}/{database or self.name}"


@dataclass(frozen=True)
class LockStore:
    host: str
    port: int
    password: str
    db: int
    key_prefix: str
    type: str = "redis"     # Rasa's lock store type, or the module path of a compatible class


@dataclass(frozen=True)
class ClusterSettings:
    state_dir: Path                    # logs, generated nginx configuration, secrets file
    model: Path
    database_url: str                  # all three backends (separate tables and Alembic version tables)
    tracker_db: TrackerDatabase
    lock_store: LockStore
    timeouts: Timeouts
    secrets: Dict[str, str] = field(repr=False)
    app_env: str = "development"
    bind: str = "127.0.0.1"            # the public load balancer; every other process listens on loopback
    public_port: int = 5080
    actions_lb_port: int = 5180
    rasa_ports: Tuple[int, ...] = (5006, 5007)
    action_ports: Tuple[int, ...] = (5056, 5057)
    registration_port: int = 8101
    certificate_port: int = 8102
    notifications_port: int = 8103

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def public_url(self) -> str:
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "") else self.bind
        return f"http://{host}:{self.public_port}"

    @property
    def actions_lb_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_lb_port}"

    def rasa_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.rasa_ports[index]}"

    def action_server_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.action_ports[index]}"

    @property
    def registration_url(self) -> str:
        return f"http://127.0.0.1:{self.registration_port}"

    @property
    def certificate_url(self) -> str:
        return f"http://127.0.0.1:{self.certificate_port}"

    @property
    def notifications_url(self) -> str:
        return f"http://127.0.0.1:{self.notifications_port}"


def _env(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def _ports(env: Mapping[str, str], name: str, default: Tuple[int, ...]) -> Tuple[int, ...]:
    raw = _env(env, name, ",".join(map(str, default)))
    return tuple(int(port) for port in raw.split(",") if port.strip())


def load_secrets(env: Mapping[str, str], secrets_file: Path) -> Dict[str, str]:
    """Each secret from the environment, else from `secrets_file`, else generated and stored there."""
    stored: Dict[str, str] = {}
    if secrets_file.exists():
        for line in secrets_file.read_text().splitlines():
            name, sep, value = line.partition("=")
            if sep and not line.startswith("#"):
                stored[name.strip()] = value.strip()
    missing = [name for name in SECRET_NAMES if not env.get(name, "").strip() and not stored.get(name)]
    if missing:
        stored.update({name: secrets.token_urlsafe(32) for name in missing})
        secrets_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(secrets_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write("# Generated by scripts/cluster.py for the local cluster. Never commit; the environment wins.\n")
            out.writelines(f"{name}={stored[name]}\n" for name in SECRET_NAMES if name in stored)
    return {name: env.get(name, "").strip() or stored[name] for name in SECRET_NAMES}


def load_cluster_settings(env: Mapping[str, str] = os.environ, state_dir: Path = DEFAULT_STATE_DIR) -> ClusterSettings:
    timeouts = Timeouts(backend_read=float(_env(env, "BACKEND_TIMEOUT_SECONDS", "10")),
                        action_call=float(_env(env, "ACTION_TIMEOUT_SECONDS", "30")),
                        lock_lifetime=int(_env(env, "TICKET_LOCK_LIFETIME", "100")))
    return ClusterSettings(
        state_dir=state_dir,
        model=Path(_env(env, "CLUSTER_MODEL", str(ROOT / "models" / "assistant.tar.gz"))),
        database_url=_env(env, "DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/vaksinbot"),
        tracker_db=TrackerDatabase(host=_env(env, "TRACKER_DB_HOST", "127.0.0.1"),
                                   port=int(_env(env, "TRACKER_DB_PORT", "5432")),
                                   name=_env(env, "TRACKER_DB_NAME", "vaksinbot_conversations"),
                                   user=_env(env, "TRACKER_DB_USER", "postgres"),
                                   password=env.get("TRACKER_DB_PASSWORD", "")),
        lock_store=LockStore(host=_env(env, "REDIS_HOST", "127.0.0.1"), port=int(_env(env, "REDIS_PORT", "6379")),
                             password=env.get("REDIS_PASSWORD", ""), db=int(_env(env, "LOCK_STORE_DB", "1")),
                             key_prefix=_env(env, "LOCK_STORE_KEY_PREFIX", "vaksinbot"),
                             type=_env(env, "LOCK_STORE_TYPE", "rasa_extensions.lock_store.AtomicRedisLockStore")),
        timeouts=timeouts,
        secrets=load_secrets(env, state_dir / "secrets.env"),
        app_env=_env(env, "APP_ENV", "development"),
        bind=_env(env, "CLUSTER_BIND", "127.0.0.1"),
        public_port=int(_env(env, "CLUSTER_PUBLIC_PORT", "5080")),
        actions_lb_port=int(_env(env, "CLUSTER_ACTIONS_PORT", "5180")),
        rasa_ports=_ports(env, "CLUSTER_RASA_PORTS", (5006, 5007)),
        action_ports=_ports(env, "CLUSTER_ACTION_SERVER_PORTS", (5056, 5057)),
        registration_port=int(_env(env, "CLUSTER_REGISTRATION_PORT", "8101")),
        certificate_port=int(_env(env, "CLUSTER_CERTIFICATE_PORT", "8102")),
        notifications_port=int(_env(env, "CLUSTER_NOTIFICATIONS_PORT", "8103")),
    )


def configuration_problems(settings: ClusterSettings) -> List[str]:
    found = list(settings.timeouts.problems())
    if not settings.lock_store.key_prefix.isalnum():
        # Rasa ignores a non-alphanumeric prefix silently and falls back to "lock:".
        found.append(f"LOCK_STORE_KEY_PREFIX={settings.lock_store.key_prefix!r} must be letters and digits only")
    if len(settings.rasa_ports) < 2 or len(settings.action_ports) < 2:
        found.append("the cluster needs at least two Rasa servers and two action servers")
    return found
