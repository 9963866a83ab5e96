"""`make cluster`: the production layout on this machine, in one command.

    python -m scripts.cluster

Checks that PostgreSQL and Redis answer, creates the databases when absent and migrates (and, in
development, seeds) the backends' schema, then starts the three backends (registration,
certificate, notifications), two action servers, two Rasa servers (conversations in PostgreSQL,
ticket locks in Redis), nginx in front of the Rasa servers and of the action servers and, last,
the one reminders scheduler; waits until every one answers and prints the URLs. Ctrl-C
stops everything it started. Configuration: scripts/cluster_settings.py and docs/production.md.
tests/cluster uses the same `Cluster` class on free ports.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional
from urllib.parse import quote

import psycopg2
import redis
import requests
from psycopg2 import sql

from scripts.cluster_nginx import nginx_command, write_config
from scripts.cluster_settings import ROOT, SECRET_NAMES, ClusterSettings, configuration_problems, load_cluster_settings

BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 300
BACKENDS = ("registration", "certificate", "notifications")
# The day-before reminders: one process per deployment (a second would only waste work, the
# ledger keeps it from sending twice). It has no HTTP port; it is ready once it logged this line.
SCHEDULER = "reminders"
SCHEDULER_READY_LINE = "reminder scheduler started"
STOP_TIMEOUT_SECONDS = 20
RASA_REQUEST_MAX_BYTES = 1_048_576


class ClusterError(RuntimeError):
    """Something the operator must fix; the message says what."""


def _postgres_admin_dsn(url: str) -> str:
    """The same server's maintenance database, where CREATE DATABASE runs."""
    return url.replace("postgresql+psycopg2://", "postgresql://").rsplit("/", 1)[0] + "/postgres"


def ensure_database(url: str) -> bool:
    """Creates the database of `url` when it does not exist; True when it was created."""
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    try:
        admin = psycopg2.connect(_postgres_admin_dsn(url), connect_timeout=5)
    except psycopg2.OperationalError as error:
        raise ClusterError(f"PostgreSQL is not reachable at {url.rsplit('/', 1)[0].split('@')[-1]}: "
                           f"{str(error).strip().splitlines()[0]}. Start it, or set DATABASE_URL / TRACKER_DB_*.")
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone():
                return False
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    finally:
        admin.close()


def check_redis(settings: ClusterSettings) -> None:
    lock_store = settings.lock_store
    try:
        redis.Redis(host=lock_store.host, port=lock_store.port, db=lock_store.db,
                    password=lock_store.password or None, socket_timeout=5).ping()
    except redis.RedisError as error:
        raise ClusterError(f"Redis is not reachable at {lock_store.host}:{lock_store.port} (db {lock_store.db}): "
                           f"{error}. Start it, or set REDIS_HOST / REDIS_PORT / REDIS_PASSWORD.")


class Cluster:
    """The cluster's processes, started and stopped together; one can be killed and restarted."""

    def __init__(self, settings: ClusterSettings, rasa_env: Optional[Dict[int, Dict[str, str]]] = None,
                 process_env: Optional[Dict[str, Dict[str, str]]] = None):
        self.settings = settings
        self.rasa_env = rasa_env or {}      # per Rasa server (by index): extra environment, for tests
        self.process_env = process_env or {}   # per process name: extra environment, for tests
        self.processes: Dict[str, subprocess.Popen] = {}
        self.commands: Dict[str, List[str]] = {}
        self.environments: Dict[str, Dict[str, str]] = {}
        self.log_starts: Dict[str, int] = {}   # size of each log when its process was (re)started

    # --- names -------------------------------------------------------------------------------------
    @property
    def rasa_names(self) -> List[str]:
        return [f"rasa-{i + 1}" for i in range(len(self.settings.rasa_ports))]

    @property
    def action_server_names(self) -> List[str]:
        return [f"actions-{i + 1}" for i in range(len(self.settings.action_ports))]

    def log_path(self, name: str) -> Path:
        return self.settings.log_dir / f"{name}.log"

    # --- preparation -------------------------------------------------------------------------------
    def prepare(self) -> None:
        problems = configuration_problems(self.settings)
        if problems:
            raise ClusterError("inconsistent configuration:\n  - " + "\n  - ".join(problems))
        if not self.settings.model.exists():
            raise ClusterError(f"no trained model at {self.settings.model}: run `make train` first.")
        ensure_database(self.settings.database_url)
        ensure_database(self.settings.tracker_db.url())
        check_redis(self.settings)
        # Development seeds the demo identities; production only migrates the schema.
        command = "init" if self.settings.app_env != "production" else "migrate"
        # Migrates all three services: with APP_ENV=production each refuses to load without its own keys.
        migration_env = dict(self._backend_env(), **self._secrets("NOTIFICATIONS_API_KEY", "NOTIFICATIONS_SIGNING_KEY"))
        result = subprocess.run([sys.executable, "-m", "backends.manage", command], cwd=ROOT,
                                env=migration_env, capture_output=True, text=True)
        if result.returncode != 0:
            raise ClusterError(f"`backends.manage {command}` failed:\n{result.stderr[-3000:]}")

    def _base_env(self) -> Dict[str, str]:
        # No secret is inherited: each process gets exactly the ones it needs below.
        env = {name: value for name, value in os.environ.items() if name not in SECRET_NAMES}
        env.update(PYTHONUNBUFFERED="1", SQLALCHEMY_SILENCE_UBER_WARNING="1", APP_ENV=self.settings.app_env)
        return env

    def _secrets(self, *names: str) -> Dict[str, str]:
        return {name: self.settings.secrets[name] for name in names}

    def _backend_env(self) -> Dict[str, str]:
        s = self.settings
        return dict(self._base_env(), DATABASE_URL=s.database_url,
                    REGISTRATION_PUBLIC_URL=s.registration_url, CERTIFICATE_PUBLIC_URL=s.certificate_url,
                    **self._secrets("REGISTRATION_API_KEY", "CERTIFICATE_API_KEY",
                                    "REGISTRATION_SIGNING_KEY", "CERTIFICATE_SIGNING_KEY",
                                    "CERTIFICATE_OFFICER_API_KEY"))

    def _notifications_env(self) -> Dict[str, str]:
        """The notification service and the scheduler: their own database and keys, the cohort
        backends' API keys, and Rasa's API through nginx (any live Rasa server will do).

        A trigger_intent call waits for the conversation's lock like a message does, so it gets the
        same patience as nginx gives a message: one that gave up earlier would be recorded as
        failed while Rasa still delivers it, and the next run would send it a second time."""
        s = self.settings
        return dict(self._base_env(), DATABASE_URL=s.database_url, NOTIFICATIONS_PUBLIC_URL=s.notifications_url,
                    REGISTRATION_URL=s.registration_url, CERTIFICATE_URL=s.certificate_url, RASA_URL=s.public_url,
                    NOTIFICATIONS_TIMEOUT_SECONDS=str(s.timeouts.public_read),
                    **self._secrets("NOTIFICATIONS_API_KEY", "NOTIFICATIONS_SIGNING_KEY", "REGISTRATION_API_KEY",
                                    "CERTIFICATE_API_KEY", "RASA_AUTH_TOKEN"))

    def _action_server_env(self) -> Dict[str, str]:
        s = self.settings
        return dict(self._base_env(), SANIC_HOST="127.0.0.1", REGISTRATION_URL=s.registration_url,
                    CERTIFICATE_URL=s.certificate_url, NOTIFICATIONS_URL=s.notifications_url,
                    BACKEND_TIMEOUT_SECONDS=f"{s.timeouts.backend_read:g}",
                    **self._secrets("REGISTRATION_API_KEY", "CERTIFICATE_API_KEY", "NOTIFICATIONS_API_KEY",
                                    "SLOT_SEALING_KEY"))

    def _rasa_env(self, index: int) -> Dict[str, str]:
        s, db, lock = self.settings, self.settings.tracker_db, self.settings.lock_store
        env = dict(self._base_env(),
                   ACTION_SERVER_URL=f"{s.actions_lb_url}/webhook",
                   TRACKER_DB_HOST=db.host, TRACKER_DB_PORT=str(db.port), TRACKER_DB_NAME=db.name,
                   TRACKER_DB_USER=db.user, TRACKER_DB_PASSWORD=db.password,
                   REDIS_HOST=lock.host, REDIS_PORT=str(lock.port), REDIS_PASSWORD=lock.password,
                   LOCK_STORE_TYPE=lock.type, LOCK_STORE_DB=str(lock.db), LOCK_STORE_KEY_PREFIX=lock.key_prefix,
                   TICKET_LOCK_LIFETIME=str(s.timeouts.lock_lifetime),
                   # Bodies over 1 MB are refused by Sanic itself (nginx already stops them at 256 KB).
                   SANIC_REQUEST_MAX_SIZE=str(RASA_REQUEST_MAX_BYTES),
                   **self._secrets("ACTION_SERVER_TOKEN"))
        # WhatsApp deliveries retried by Meta are recognised by whichever server gets them.
        password = f":{quote(lock.password, safe='')}@" if lock.password else ""
        env.setdefault("WHATSAPP_DEDUP_REDIS_URL", f"redis://{password}{lock.host}:{lock.port}/{lock.db}")
        env.update(self.rasa_env.get(index, {}))
        return env

    def _define_processes(self) -> None:
        s = self.settings
        backends = {"registration": (s.registration_port, self._backend_env()),
                    "certificate": (s.certificate_port, self._backend_env()),
                    "notifications": (s.notifications_port, self._notifications_env())}
        for service, (port, env) in backends.items():
            self.commands[service] = [str(BIN / "uvicorn"), "--factory", f"backends.{service}.api:create_app",
                                      "--host", "127.0.0.1", "--port", str(port), "--ws", "none", "--no-access-log"]
            self.environments[service] = env
        for index, name in enumerate(self.action_server_names):
            self.commands[name] = [sys.executable, "-m", "actions.server", "--actions", "actions",
                                   "--port", str(s.action_ports[index])]
            self.environments[name] = self._action_server_env()
        for index, name in enumerate(self.rasa_names):
            # The speed-ups of Rasa internals chosen by RASA_SPEEDUPS (inherited), then `rasa run`.
            self.commands[name] = [sys.executable, "-m", "rasa_speedups", "run", "--enable-api",
                                   # One argument: a generated token may start with "-".
                                   f"--auth-token={s.secrets['RASA_AUTH_TOKEN']}",
                                   "-i", "127.0.0.1", "--port", str(s.rasa_ports[index]),
                                   "--model", str(s.model), "--endpoints", str(ROOT / "cluster" / "endpoints.yml"),
                                   "--credentials", str(ROOT / "credentials.yml")]
            self.environments[name] = self._rasa_env(index)
        self.commands["nginx"] = nginx_command(s, write_config(s))
        self.environments["nginx"] = self._base_env()
        self.commands[SCHEDULER] = [sys.executable, "-m", "backends.notifications.scheduler"]
        self.environments[SCHEDULER] = self._notifications_env()
        for name, extra in self.process_env.items():
            self.environments[name].update(extra)

    # --- processes ---------------------------------------------------------------------------------
    def start(self) -> "Cluster":
        self.prepare()
        return self.launch()

    def launch(self) -> "Cluster":
        """Starts every process and waits until each answers; stops them all if one does not."""
        self._define_processes()
        try:
            servers = [name for name in self.commands if name not in ("nginx", SCHEDULER)]
            for name in servers + ["nginx"]:
                self.start_process(name)
            # nginx last: until a Rasa server answers, its health check could only fail.
            self.wait_until_ready(*servers)
            self.wait_until_ready("nginx")
            # The scheduler after nginx: its first tick may already send reminders through it.
            self.start_process(SCHEDULER)
            self.wait_until_ready(SCHEDULER)
        except BaseException:
            self.stop()
            raise
        return self

    def start_process(self, name: str) -> None:
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path(name).open("ab") as log:
            self.log_starts[name] = log.tell()
            # A session of its own: Ctrl-C reaches this script only, which then stops every process.
            self.processes[name] = subprocess.Popen(self.commands[name], cwd=ROOT, env=self.environments[name],
                                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def health_url(self, name: str) -> str:
        s = self.settings
        if name in BACKENDS:
            return dict(zip(BACKENDS, (s.registration_url, s.certificate_url, s.notifications_url)))[name] + "/health"
        if name in self.action_server_names:
            return s.action_server_url(self.action_server_names.index(name)) + "/health"
        if name in self.rasa_names:
            # /status needs the token and answers once the model is loaded.
            return f"{s.rasa_url(self.rasa_names.index(name))}/status?token={s.secrets['RASA_AUTH_TOKEN']}"
        return s.public_url + "/"

    def wait_until_ready(self, *names: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
        pending = list(names)
        deadline = time.monotonic() + timeout
        while pending:
            for name in list(pending):
                if self.processes[name].poll() is not None:
                    raise ClusterError(f"{name} exited during start-up:\n{self.tail(name)}")
                if self.is_ready(name):
                    pending.remove(name)
            if pending and time.monotonic() > deadline:
                raise ClusterError(f"not ready after {timeout:g} s: {', '.join(pending)}\n"
                                   + "\n".join(self.tail(name) for name in pending))
            if pending:
                time.sleep(0.5)

    def is_ready(self, name: str) -> bool:
        if name == SCHEDULER:   # logs are appended to: only this start's lines count
            with self.log_path(name).open("rb") as log:
                log.seek(self.log_starts[name])
                return SCHEDULER_READY_LINE.encode() in log.read()
        try:
            return requests.get(self.health_url(name), timeout=2).status_code == 200
        except requests.RequestException:
            return False

    def tail(self, name: str, lines: int = 25) -> str:
        path = self.log_path(name)
        text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
        return f"--- {path}\n" + "\n".join(text)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crashed machine would: no clean-up code runs."""
        process = self.processes[name]
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self, names: Optional[Iterable[str]] = None) -> None:
        """SIGTERM to each (the scheduler and nginx first: no new sends or requests), then waits; SIGKILL
        after the timeout."""
        order = [SCHEDULER, "nginx", *self.rasa_names, *self.action_server_names, *BACKENDS]
        chosen = [name for name in (names or order) if name in self.processes]
        for name in chosen:
            if self.processes[name].poll() is None:
                self.processes[name].terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for name in chosen:
            try:
                self.processes[name].wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.processes[name].kill()
                self.processes[name].wait()

    def exited(self) -> List[str]:
        return [name for name, process in self.processes.items() if process.poll() is not None]


def describe(cluster: Cluster) -> str:
    s = cluster.settings
    rows = [("load balancer (REST channel, WhatsApp webhook, Rasa HTTP API)", s.public_url)]
    rows += [(f"Rasa server {name}", s.rasa_url(i)) for i, name in enumerate(cluster.rasa_names)]
    rows += [("action servers, behind nginx (header X-Action-Token)", s.actions_lb_url + "/webhook")]
    rows += [(f"action server {name} (loopback only)", s.action_server_url(i))
             for i, name in enumerate(cluster.action_server_names)]
    rows += [("registration service", s.registration_url + "/docs"),
             ("certificate service", s.certificate_url + "/docs"),
             ("notification service (campaign runs, opt-outs)", s.notifications_url + "/docs")]
    width = max(len(label) for label, _ in rows)
    lines = [f"  {label:<{width}}  {url}" for label, url in rows]
    return "\n".join([
        "The cluster is up:", *lines,
        f"Conversations: PostgreSQL {s.tracker_db.host}:{s.tracker_db.port}/{s.tracker_db.name}; "
        f"locks: Redis {s.lock_store.host}:{s.lock_store.port} db {s.lock_store.db} prefix "
        f"'{s.lock_store.key_prefix}:lock:'; backends: {s.database_url.split('@')[-1]}",
        f"Reminders: one scheduler (process '{SCHEDULER}') sends them through {s.public_url}; when and how "
        f"often: NOTIFICATIONS_REMINDER_HOUR, NOTIFICATIONS_SCHEDULER_INTERVAL_SECONDS (docs/notifications.md).",
        f"Secrets: environment, else {s.state_dir / 'secrets.env'}. Logs: {s.log_dir}/",
        "Try: curl -s -XPOST " + s.public_url + "/webhooks/rest/webhook -d '{\"sender\":\"me\",\"message\":\"halo\"}'",
        "Ctrl-C stops everything.",
    ])


def _stop_on_sigterm(_signum, _frame) -> None:
    """A supervisor's SIGTERM stops the cluster like Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> int:
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    cluster = Cluster(load_cluster_settings())
    try:
        print("Checking PostgreSQL and Redis, preparing the databases ...", flush=True)
        cluster.prepare()
        print(f"Starting the backends, {len(cluster.action_server_names)} action servers, "
              f"{len(cluster.rasa_names)} Rasa servers, nginx and the reminders scheduler (model load: "
              f"30-60 s; logs in "
              f"{cluster.settings.log_dir}) ...", flush=True)
        cluster.launch()
        print(describe(cluster), flush=True)
        reported = set()
        while True:
            for name in set(cluster.exited()) - reported:
                print(f"{name} stopped (exit code {cluster.processes[name].returncode}); the others go on. "
                      f"See {cluster.log_path(name)}", flush=True)
                reported.add(name)
            time.sleep(1)
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
        return 0
    except (RuntimeError, ValueError) as error:   # ClusterError, nginx missing, a bad setting
        print(f"cluster: {error}", file=sys.stderr)
        return 1
    finally:
        cluster.stop()
        if cluster.processes:
            print("All cluster processes stopped.")


if __name__ == "__main__":
    sys.exit(main())
