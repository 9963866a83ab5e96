"""A slow backend call for one user must not delay another user's action.

The real action server (`python -m actions.server`, rasa-sdk's app) runs the project's actions; the registration
backend is replaced by a loopback server that holds one reference's answer until the test releases it, so the
other user's whole action provably runs while the first one waits (events, not timings).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from tests.service.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 30  # only a broken server ever waits this long


class SlowRegistrationBackend(BaseHTTPRequestHandler):
    slow_request_arrived = threading.Event()
    release_slow_answer = threading.Event()

    def do_GET(self):  # noqa: N802 - http.server naming
        reference = self.path.rsplit("/", 1)[-1]
        if reference == "NKS-SLWSLWSL":
            self.slow_request_arrived.set()
            self.release_slow_answer.wait(WAIT_SECONDS)
        body = json.dumps({"reference": reference, "status": "pending", "created_at": "2021-03-01T08:00:00"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def action_server():
    SlowRegistrationBackend.slow_request_arrived.clear()
    SlowRegistrationBackend.release_slow_answer.clear()
    backend = ThreadingHTTPServer(("127.0.0.1", 0), SlowRegistrationBackend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = free_port()
    env = dict(os.environ, REGISTRATION_URL=f"http://127.0.0.1:{backend.server_port}")
    process = subprocess.Popen([sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port)],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{url}/health", timeout=1).ok:
                break
        except requests.RequestException:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "action server did not start"
        time.sleep(0.2)
    yield url
    SlowRegistrationBackend.release_slow_answer.set()
    process.terminate()
    process.wait(timeout=10)
    backend.shutdown()


def call_action(url: str, sender: str, text: str) -> dict:
    started = time.monotonic()
    body = {"next_action": "action_submission_status", "sender_id": sender, "domain": {},
            "tracker": {"sender_id": sender, "slots": {}, "latest_message": {"text": text, "entities": []},
                        "events": [], "paused": False, "followup_action": None, "active_loop": {},
                        "latest_action_name": "action_listen"}}
    response = requests.post(f"{url}/webhook", json=body, timeout=30)
    response.raise_for_status()
    return {"seconds": time.monotonic() - started, "responses": response.json()["responses"]}


def test_one_slow_backend_call_does_not_delay_another_users_action(action_server):
    results = {}
    slow = threading.Thread(target=lambda: results.update(slow=call_action(action_server, "a", "NKS-SLWSLWSL")))
    slow.start()
    # User A's action is now waiting on the backend, which holds its answer until released.
    assert SlowRegistrationBackend.slow_request_arrived.wait(WAIT_SECONDS)
    results["fast"] = call_action(action_server, "b", "NKS-FSTFSTFS")
    fast_finished_while_slow_waiting = slow.is_alive() and not SlowRegistrationBackend.release_slow_answer.is_set()
    SlowRegistrationBackend.release_slow_answer.set()
    slow.join(WAIT_SECONDS)
    assert results["fast"]["responses"][0]["response"] == "utter_submission_pending"
    assert fast_finished_while_slow_waiting, results
    assert results["slow"]["responses"][0]["response"] == "utter_submission_pending"
