"""`make run`: start the whole assistant on embedded defaults and chat with it in this terminal.

Trains the model if needed, creates and seeds the SQLite databases if absent, starts the two
backends, the action server and the Rasa server under honcho (logs in var/log/services.log; the
Procfile starts Rasa as `python -m rasa_speedups run`, with the speed-ups RASA_SPEEDUPS chooses),
waits until every one answers, then opens a chat. Ctrl-C (or /stop) stops everything it started.
"""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests

from scripts import train_if_changed

ROOT = Path(__file__).resolve().parents[1]
LOG_FILE = ROOT / "var" / "log" / "services.log"
RASA_URL = "http://localhost:5005"
HEALTH_CHECKS = {
    "registration": "http://localhost:8001/health",
    "certificate": "http://localhost:8002/health",
    "notifications": "http://localhost:8003/health",
    "actions": "http://localhost:5055/health",
    "rasa": f"{RASA_URL}/status",
    "webchat": "http://localhost:8080/",
}
START_TIMEOUT_SECONDS = 240


def wait_until_ready(services: subprocess.Popen) -> None:
    pending = dict(HEALTH_CHECKS)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while pending:
        if services.poll() is not None:
            raise RuntimeError(f"a service stopped during start-up; see {LOG_FILE}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {START_TIMEOUT_SECONDS} s: {', '.join(pending)}; see {LOG_FILE}")
        for name, url in list(pending.items()):
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    print(f"  {name} is up")
                    del pending[name]
            except requests.RequestException:
                pass
        time.sleep(1)


def chat() -> None:
    # Imported late: importing Rasa takes a few seconds that the start-up should not wait for.
    from rasa.core.channels.console import record_messages

    print("\nKetik pesan Anda (misalnya: halo). Ctrl-C atau /stop untuk keluar.\n")
    asyncio.run(record_messages(sender_id=f"terminal-{uuid.uuid4().hex[:8]}", server_url=RASA_URL))


def main() -> int:
    os.chdir(ROOT)
    if train_if_changed.main([]) != 0:
        return 1
    subprocess.run([sys.executable, "-m", "backends.manage", "init"], check=True)
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    print(f"Starting the backends, the action server and the Rasa server (logs: {LOG_FILE.relative_to(ROOT)})")
    with LOG_FILE.open("ab") as log:
        services = subprocess.Popen([str(Path(sys.executable).parent / "honcho"), "start", "-f", "Procfile"],
                                    stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(services)
        print("\nWeb chat: http://localhost:8080/ (atau lanjutkan di terminal ini)")
        chat()
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        print(f"\n{error}", file=sys.stderr)
        return 1
    finally:
        if services.poll() is None:
            services.send_signal(signal.SIGTERM)
        try:
            services.wait(timeout=30)
        except KeyboardInterrupt:
            services.kill()
        print("\nAll services stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
