"""The whole assistant as separate processes on free loopback ports, for conversation tests.

Each run gets its own SQLite databases (seeded with the demo data), its own endpoints file and
log files, so it never collides with a `make run` on the same machine.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import requests

from rasa_extensions.tracker_check import SELF_CHECK_MESSAGE, SELF_CHECK_ON, SELF_CHECK_VARIABLE
from tests.service.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "assistant.tar.gz"
START_TIMEOUT_SECONDS = 180
INSTALLED_LINE = "Rasa speed-ups installed:"   # the launcher's first line (rasa_speedups/__main__.py)


class RunningAssistant:
    def __init__(self, workdir: Path, self_check: bool = True):
        """`self_check`: compare every tracker the SQL store keeps and the speed-ups copy with Rasa's
        replay (slow on conversations of thousands of events; the security level's long walks turn it off).
        The Rasa server runs under `python -m rasa_speedups run`, with the speed-ups RASA_SPEEDUPS
        chooses (all unless the environment says otherwise; scripts/test.sh runs them again with `off`)."""
        self.workdir = workdir
        self.self_check = self_check
        self.ports = {name: free_port() for name in ("registration", "certificate", "notifications", "actions",
                                                     "rasa")}
        self.urls = {name: f"http://127.0.0.1:{port}" for name, port in self.ports.items()}
        self.processes: Dict[str, subprocess.Popen] = {}
        self.env = dict(os.environ, DATA_DIR=str(workdir / "data"), APP_ENV="development",
                        REGISTRATION_URL=self.urls["registration"], CERTIFICATE_URL=self.urls["certificate"],
                        REGISTRATION_PUBLIC_URL=self.urls["registration"],
                        CERTIFICATE_PUBLIC_URL=self.urls["certificate"], PYTHONUNBUFFERED="1",
                        NOTIFICATIONS_URL=self.urls["notifications"], RASA_URL=self.urls["rasa"],
                        **{SELF_CHECK_VARIABLE: "1" if self_check else ""})

    def log_path(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    def start(self) -> "RunningAssistant":
        if not MODEL.exists():
            raise RuntimeError("no trained model: run `make train` (make test does) first")
        subprocess.run([sys.executable, "-m", "backends.manage", "init"], cwd=ROOT, env=self.env, check=True,
                       stdout=subprocess.DEVNULL)
        endpoints = self.workdir / "endpoints.yml"
        # The production tracker store on SQLite, with every kept or copied tracker compared with
        # Rasa's own replay (rasa_extensions/tracker_check.py); `self_check_failures` reads the verdict.
        endpoints.write_text(f'action_endpoint:\n  url: "{self.urls["actions"]}/webhook"\n'
                             "tracker_store:\n  type: rasa_extensions.tracker_store.RedactingTrackerStore\n"
                             "  inner:\n    type: rasa_extensions.sql_tracker_store.IncrementalSQLTrackerStore\n"
                             f"    dialect: sqlite\n    db: {self.workdir / 'trackers.sqlite3'}\n")
        commands = {
            "registration": [str(BIN / "uvicorn"), "--factory", "backends.registration.api:create_app",
                             "--host", "127.0.0.1", "--port", str(self.ports["registration"]), "--ws", "none", "--no-access-log"],
            "certificate": [str(BIN / "uvicorn"), "--factory", "backends.certificate.api:create_app",
                            "--host", "127.0.0.1", "--port", str(self.ports["certificate"]), "--ws", "none", "--no-access-log"],
            "notifications": [str(BIN / "uvicorn"), "--factory", "backends.notifications.api:create_app", "--host",
                              "127.0.0.1", "--port", str(self.ports["notifications"]), "--ws", "none",
                              "--no-access-log"],
            "actions": [sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(self.ports["actions"])],
            "rasa": ["env", "SANIC_REQUEST_MAX_SIZE=1048576", sys.executable, "-m", "rasa_speedups", "run", "--enable-api",
                     "-i", "127.0.0.1", "--port", str(self.ports["rasa"]),
                     "--model", str(MODEL), "--endpoints", str(endpoints), "--credentials",
                     str(ROOT / "credentials.yml")],
        }
        self.commands = commands
        for name in commands:
            self.start_process(name)
        self.wait_until_ready(*commands)
        return self

    def start_process(self, name: str) -> None:
        log = self.log_path(name).open("ab")
        self.processes[name] = subprocess.Popen(self.commands[name], cwd=ROOT, env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT)

    def wait_until_ready(self, *names: str) -> None:
        checks = {"registration": "/health", "certificate": "/health", "notifications": "/health", "actions": "/health",
                  "rasa": "/status"}
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        pending = {name: checks[name] for name in names}
        while pending:
            for name, path in list(pending.items()):
                if self.processes[name].poll() is not None:
                    raise RuntimeError(f"{name} exited during start-up:\n{self.tail(name)}")
                try:
                    if requests.get(self.urls[name] + path, timeout=2).status_code == 200:
                        del pending[name]
                except requests.RequestException:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready: {list(pending)}\n" + "\n".join(self.tail(n) for n in pending))
            time.sleep(0.5)

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log_path(name)
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop_process(self, name: str) -> None:
        process = self.processes[name]
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()

    def stop(self) -> None:
        for name in list(self.processes):
            if self.processes[name].poll() is None:
                self.stop_process(name)

    def self_check_failures(self) -> List[str]:
        """The Rasa server's self-check lines; raises if the self-check was not on."""
        if not self.self_check:
            raise RuntimeError("this assistant runs without the self-check")
        log = self.log_path("rasa").read_text(errors="replace")
        if SELF_CHECK_ON not in log:
            raise RuntimeError(f"the Rasa server ran without {SELF_CHECK_VARIABLE}")
        if INSTALLED_LINE not in log:
            raise RuntimeError("the Rasa server was not started by `python -m rasa_speedups run`")
        return [line for line in log.splitlines() if SELF_CHECK_MESSAGE in line]

    def say(self, sender: str, text: str) -> List[dict]:
        """Sends one user message over the REST channel; returns the bot's messages."""
        response = requests.post(f"{self.urls['rasa']}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": text}, timeout=60)
        response.raise_for_status()
        return response.json()


def texts(messages: List[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)
