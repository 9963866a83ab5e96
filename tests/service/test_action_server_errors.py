"""The real action server (`python -m actions.server`) when an action raises: an apology, no 500,
no request body in the answer, and nothing the user typed in the log."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.service.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_a_raising_action_answers_an_apology_and_logs_no_personal_data(tmp_path):
    port, log_path = free_port(), tmp_path / "actions.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "actions.server", "--actions", "tests.service.raising_actions", "--port", str(port)],
            cwd=ROOT, env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "action server did not start"
            time.sleep(0.2)
        typed = "nama saya Siti, NIK 3171055306900012"
        body = {"next_action": "action_that_raises", "sender_id": "u", "domain": {},
                "tracker": {"sender_id": "u", "slots": {}, "latest_message": {"text": typed, "entities": []},
                            "events": [{"event": "user", "text": typed}], "paused": False, "followup_action": None,
                            "active_loop": {}, "latest_action_name": "action_listen"}}
        response = requests.post(f"{url}/webhook", json=body, timeout=30)
        assert response.status_code == 200
        assert response.json() == {"events": [], "responses": [{"response": "utter_action_failed"}]}
    finally:
        process.terminate()
        process.wait(timeout=10)
    logged = log_path.read_text(errors="replace")
    assert "action_that_raises failed: ValueError" in logged
    assert "3171055306900012" not in logged and "Siti" not in logged
