"""Locust users that hold complete conversations with a Rasa bot over its REST channel.

Run by `bench/run.py` (never imported by the Rasa venv). Configuration comes from the environment:

  BENCH_BOT            assistant | stock
  BENCH_SAMPLES        JSON-lines file that receives one sample per user message
  BENCH_MANIFEST       identities written by bench.seed (assistant only)
  BENCH_WORKER_OFFSET, BENCH_PERSON_OFFSET   first unused identity of each kind (assistant only)
  BENCH_CERTIFICATE_URL, BENCH_CERTIFICATE_KEY   dev SMS outbox of the certificate service
  BENCH_PAUSE_MIN, BENCH_PAUSE_MAX   seconds a user "reads and types" before each message (1-3)

Every message is timed here (not from Locust's rounded histogram) and written with its start time,
so bench/run.py can leave the warm-up out and compute exact percentiles.
"""
from __future__ import annotations

import itertools
import json
import os
import random
import re
import sys
import time
import uuid
from pathlib import Path

from locust import HttpUser, events, task

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.conversations import (Turn, manifest_identities, name_change_and_certificate,  # noqa: E402
                                 registration_to_ticket, reply_problem, stock_small_talk)

BOT = os.environ.get("BENCH_BOT", "assistant")
PAUSE = (float(os.environ.get("BENCH_PAUSE_MIN", "1")), float(os.environ.get("BENCH_PAUSE_MAX", "3")))
CERTIFICATE_URL = os.environ.get("BENCH_CERTIFICATE_URL", "")
CERTIFICATE_KEY = os.environ.get("BENCH_CERTIFICATE_KEY", "dev-certificate-key")
SAMPLES = open(os.environ["BENCH_SAMPLES"], "a", encoding="utf-8", buffering=1)

if BOT == "assistant":
    WORKERS, PERSONS = manifest_identities(json.loads(Path(os.environ["BENCH_MANIFEST"]).read_text()))
    NEXT_WORKER = itertools.count(int(os.environ.get("BENCH_WORKER_OFFSET", "0")))
    NEXT_PERSON = itertools.count(int(os.environ.get("BENCH_PERSON_OFFSET", "0")))
    USED = {"workers": int(os.environ.get("BENCH_WORKER_OFFSET", "0")),
            "persons": int(os.environ.get("BENCH_PERSON_OFFSET", "0"))}
FLOWS = itertools.count()


@events.quitting.add_listener
def _record_used_identities(**_kwargs) -> None:
    if BOT == "assistant":
        Path(os.environ["BENCH_SAMPLES"] + ".used.json").write_text(json.dumps(USED))


def _next_conversation():
    """Alternates the two flows; each registration needs a health worker nobody booked yet and
    each verification a phone with no codes sent (the service allows 3 per phone per hour)."""
    if BOT == "stock":
        return "small_talk", stock_small_talk()
    if next(FLOWS) % 2 == 0:
        index = next(NEXT_WORKER)
        USED["workers"] = max(USED["workers"], index + 1)
        return "registration", registration_to_ticket(WORKERS[index])
    index = next(NEXT_PERSON)
    USED["persons"] = max(USED["persons"], index + 1)
    return "name_change_certificate", name_change_and_certificate(PERSONS[index])


class ChatUser(HttpUser):
    # The pause between conversations is drawn like the pauses between messages.
    def wait_time(self) -> float:
        return random.uniform(*PAUSE)

    @task
    def converse(self) -> None:
        flow, turns = _next_conversation()
        sender = f"bench-{BOT}-{uuid.uuid4().hex[:12]}"
        for number, turn in enumerate(turns):
            time.sleep(random.uniform(*PAUSE))
            if not self._say(sender, flow, turn, last=number == len(turns) - 1):
                return  # a wrong answer ends the conversation, as it would for a real user

    def _say(self, sender: str, flow: str, turn: Turn, last: bool) -> bool:
        text, problem, wrong_reply = turn.text, None, None
        if turn.otp_for:
            text = self._latest_code(turn.otp_for)
            if text is None:
                problem = "no OTP in the outbox"
        started_at, started = time.time(), time.perf_counter()
        if problem is None:
            with self.client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                  name=f"{flow}", catch_response=True, timeout=60) as response:
                if response.status_code != 200:
                    problem = f"HTTP {response.status_code}"
                else:
                    try:
                        problem = reply_problem(turn, response.json())
                        if problem:   # what the bot said instead (synthetic seed data, for the log)
                            wrong_reply = " | ".join(m.get("text") or "" for m in response.json())[:300]
                    except ValueError:
                        problem = "reply is not JSON"
                if problem:
                    response.failure(problem)
        elapsed_ms = (time.perf_counter() - started) * 1000
        SAMPLES.write(json.dumps({"t": started_at, "ms": round(elapsed_ms, 2), "ok": problem is None,
                                  "error": problem, "flow": flow, "last_turn": last,
                                  **({"reply": wrong_reply, "sent": turn.text} if wrong_reply else {})}) + "\n")
        return problem is None

    def _latest_code(self, phone: str):
        response = self.client.get(f"{CERTIFICATE_URL}/dev/outbox", params={"phone": phone},
                                   headers={"X-API-Key": CERTIFICATE_KEY}, name="(dev outbox)", timeout=30)
        if response.status_code != 200 or not response.json():
            return None
        match = re.search(r"\b(\d{6})\b", response.json()[-1]["text"])
        return match.group(1) if match else None
