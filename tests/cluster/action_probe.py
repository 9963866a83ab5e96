"""A pass-through HTTP proxy between one Rasa server and the action load balancer.

It forwards every action call unchanged, after `delay_seconds` (0 unless a test slows the
server's turns down). When armed with an action name, it forwards the next call of that action
(so the action server really runs it and the backend applies its change), then holds the
response back and reports it: the test can kill the Rasa server at exactly that moment,
mid-turn, before the turn's events are saved.
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional

import requests

FORWARDED_HEADERS = ("Content-Type", "Content-Encoding", "X-Action-Token")
HOLD_SECONDS = 180


class ActionProbe:
    def __init__(self, target_url: str):
        self.target_url = target_url.rstrip("/")
        self._armed: Optional[str] = None
        self.delay_seconds = 0.0
        self._lock = threading.Lock()
        self.held = threading.Event()      # set once the armed call has been run and held
        self.release = threading.Event()   # set at shutdown: held handlers return
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "ActionProbe":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def hold_next(self, action_name: str) -> threading.Event:
        with self._lock:
            self._armed = action_name
            self.held.clear()
        return self.held

    def _take_if_armed(self, action_name: str) -> bool:
        with self._lock:
            if self._armed and self._armed == action_name:
                self._armed = None
                return True
            return False

    def _handler_class(self):
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name: self.headers[name] for name in FORWARDED_HEADERS if self.headers.get(name)}
                time.sleep(probe.delay_seconds)
                upstream = requests.post(probe.target_url + self.path, data=body, headers=headers, timeout=60)
                try:
                    action_name = json.loads(body).get("next_action", "")
                except ValueError:
                    action_name = ""
                if probe._take_if_armed(action_name):
                    probe.held.set()
                    probe.release.wait(HOLD_SECONDS)   # the Rasa server is killed meanwhile
                    return
                self.send_response(upstream.status_code)
                self.send_header("Content-Type", upstream.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(upstream.content)))
                self.end_headers()
                self.wfile.write(upstream.content)

            def log_message(self, *_args) -> None:
                pass

        return Handler
