"""A fake WhatsApp Graph API and a fake SMS gateway for the notification tests and the benchmark.

`FakeGraphApi` accepts `POST /{phone-number-id}/messages` like Meta: it records each message
(recipient, type, template, callback data, arrival time) and answers with a message id. It can
refuse chosen recipients with Meta's error codes, answer 130429 for a while, hold one request
(to kill the worker that made it) and keep every later one waiting until it is released (so the
campaign stands still where the test acts), and report statuses: `statuses_for(...)` builds the webhook
events Meta would send (sent, delivered, or failed with a code), with our callback data.
It runs on aiohttp in its own thread (an event loop, no thread pool), fast enough for the
benchmark's four workers.
"""
from __future__ import annotations

import asyncio
import collections
import hashlib
import itertools
import json
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set

from aiohttp import web


class FakeGraphApi:
    def __init__(self, phone_number_id: str = "106540352242922", latency_seconds: float = 0.0) -> None:
        self.phone_number_id = phone_number_id
        self.latency_seconds = latency_seconds
        self.accepted: List[Dict[str, Any]] = []
        self.refused: List[Dict[str, Any]] = []
        self.refuse_codes: Dict[str, int] = {}          # wa_id -> Meta error code (HTTP 400)
        self.throttle_remaining = 0                     # answer 130429 (HTTP 429) this many times
        self.hold_at: Optional[int] = None              # hold the n-th accepted request until released
        self.held = threading.Event()                   # set when the n-th is accepted: nothing more is
        self.release = threading.Event()                # accepted until `release` is set
        self.in_flight = 0                              # requests being answered (or waiting at the hold)
        self.on_accepted: Optional[Callable[[Dict[str, Any]], None]] = None
        self.lock = threading.Lock()
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True)
        self._thread.start()
        started.wait(10)

    def _serve(self, started: threading.Event) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/v17.0/{number}/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/v17.0"
        started.set()
        self._loop.run_forever()

    async def _messages(self, request: web.Request) -> web.Response:
        with self.lock:
            self.in_flight += 1
        try:
            return await self._answer(request)
        finally:
            with self.lock:
                self.in_flight -= 1

    async def _answer(self, request: web.Request) -> web.Response:
        body = await request.json()
        token = request.headers.get("Authorization") or ""
        if not token.startswith("Bearer test-access-token"):
            return web.json_response({"error": {"code": 190, "message": "bad token"}}, status=401)
        if self.latency_seconds:
            await asyncio.sleep(self.latency_seconds)
        to = str(body.get("to"))
        while True:
            with self.lock:
                if not (self.held.is_set() and not self.release.is_set()):
                    break
            await self._loop.run_in_executor(None, self.release.wait, 60)  # the campaign stands still
        with self.lock:
            if self.throttle_remaining > 0:
                self.throttle_remaining -= 1
                self.refused.append({"to": to, "code": 130429, "at": time.monotonic(), "token": token})
                return web.json_response({"error": {"code": 130429, "message": "Rate limit hit"}}, status=429)
            code = self.refuse_codes.get(to)
            if code == 131047 and body.get("type") == "template":
                code = None  # a closed window refuses free-form messages only
            if code is not None:
                self.refused.append({"to": to, "code": code, "at": time.monotonic()})
                return web.json_response({"error": {"code": code, "message": "refused"}}, status=400)
            message_id = f"wamid.fake{next(self._ids):08d}"
            record = {"to": to, "id": message_id, "type": body.get("type"),
                      "template": (body.get("template") or {}).get("name"),
                      "components": (body.get("template") or {}).get("components"),
                      "text": (body.get("text") or {}).get("body") or
                      ((body.get("interactive") or {}).get("body") or {}).get("text"),
                      "callback": body.get("biz_opaque_callback_data"), "at": time.monotonic(), "token": token}
            self.accepted.append(record)
            hold = self.hold_at is not None and len(self.accepted) == self.hold_at
            if hold:
                self.held.set()  # under the lock: no request is accepted after this one until released
        if hold:
            # Meta has the message; the worker that sent it will not live to hear the answer.
            await self._loop.run_in_executor(None, self.release.wait, 60)
        if self.on_accepted is not None:
            await self._loop.run_in_executor(None, self.on_accepted, record)
        return web.json_response({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                  "messages": [{"id": message_id}]})

    # --- what happened ---

    def recipients(self) -> List[str]:
        with self.lock:
            return [record["to"] for record in self.accepted]

    def per_recipient(self) -> collections.Counter:
        return collections.Counter(self.recipients())

    def duplicates(self) -> Set[str]:
        return {to for to, count in self.per_recipient().items() if count > 1}

    @staticmethod
    def status_events(record: Dict[str, Any], *statuses: str, error_code: Optional[int] = None) -> List[Dict]:
        """The delivery events the WhatsApp channel would hand on for Meta's status webhooks."""
        digest = hashlib.sha256(record["id"].encode()).hexdigest()
        return [{"type": "status", "reference": record["callback"], "message": digest, "status": status,
                 "timestamp": int(time.time()), "error_code": error_code if status == "failed" else None}
                for status in statuses]

    def close(self) -> None:
        self.release.set()

        async def stop():
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


class FakeSmsGateway:
    """The operator's SMS gateway as backends/certificate/sms.HttpSmsGateway calls it."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.messages: List[Dict[str, str]] = []
        self.failing = False
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status = 503 if gateway.failing else 200
                if not gateway.failing:
                    gateway.messages.append(body)
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/sms"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def recipients(self) -> List[str]:
        return [message["to"] for message in self.messages]

    def close(self) -> None:
        self.server.shutdown()
