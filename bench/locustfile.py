"""Locust users that hold complete conversations with a Rasa bot over its REST channel.

Run by `bench/run.py` (never imported by the Rasa venv). Configuration comes from the environment:

  BENCH_BOT            assistant | stock
  BENCH_SAMPLES        JSON-lines file that receives one sample per user message
  BENCH_MANIFEST       identities written by bench.seed (assistant; the stock bot's users make the
                       same kind with bench/identities.py)
  BENCH_SEED           seed of the journeys' texts: the same seed sends every bot the same texts
  BENCH_JOURNEY_OFFSET the first journey's number (each level has its own range of journeys)
  BENCH_WORKER_OFFSET, BENCH_PERSON_OFFSET   first unused identity of each kind (assistant only)
  BENCH_CERTIFICATE_URL, BENCH_CERTIFICATE_KEY   dev SMS outbox of the certificate service
  BENCH_PAUSE_MIN, BENCH_PAUSE_MAX   seconds a user "reads and types" before each message (1-3;
                       0 and 0 in capacity mode: the next message as soon as the reply is back)

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
from bench import identities  # noqa: E402
from bench.conversations import (HealthWorker, Person, Turn, detour_taken, is_error, journey,  # noqa: E402
                                 manifest_identities, otp_text, reply_problem, stock_problem)

BOT = os.environ.get("BENCH_BOT", "assistant")
PAUSE = (float(os.environ.get("BENCH_PAUSE_MIN", "1")), float(os.environ.get("BENCH_PAUSE_MAX", "3")))
SEED = int(os.environ.get("BENCH_SEED", "1"))
CERTIFICATE_URL = os.environ.get("BENCH_CERTIFICATE_URL", "")
CERTIFICATE_KEY = os.environ.get("BENCH_CERTIFICATE_KEY", "dev-certificate-key")
SAMPLES = open(os.environ["BENCH_SAMPLES"], "a", encoding="utf-8", buffering=1)

if os.environ.get("BENCH_MANIFEST"):
    WORKERS, PERSONS = manifest_identities(json.loads(Path(os.environ["BENCH_MANIFEST"]).read_text()))
else:   # the stock bot: the same kind of identities, made here (no backend to seed)
    people = identities.identities(int(os.environ.get("BENCH_IDENTITIES", "3000")) * 2, seed=SEED)
    half = len(people) // 2
    WORKERS = [HealthWorker(p.nik_suffix, p.name, p.birth_date.isoformat()) for p in people[:half]]
    PERSONS = [Person(p.phone, identities.corrected_name(p)) for p in people[half:]]
NEXT_WORKER = itertools.count(int(os.environ.get("BENCH_WORKER_OFFSET", "0")))
NEXT_PERSON = itertools.count(int(os.environ.get("BENCH_PERSON_OFFSET", "0")))
USED = {"workers": int(os.environ.get("BENCH_WORKER_OFFSET", "0")),
        "persons": int(os.environ.get("BENCH_PERSON_OFFSET", "0"))}
JOURNEYS = itertools.count(int(os.environ.get("BENCH_JOURNEY_OFFSET", "0")))


@events.quitting.add_listener
def _record_used_identities(**_kwargs) -> None:
    Path(os.environ["BENCH_SAMPLES"] + ".used.json").write_text(json.dumps(USED))


def _worker() -> int:
    """Each registration needs a health worker nobody booked yet."""
    index = next(NEXT_WORKER)
    USED["workers"] = max(USED["workers"], index + 1)
    return index


def _person() -> int:
    """Each verification needs a phone with no codes sent (the service allows 3 per phone per hour)."""
    index = next(NEXT_PERSON)
    USED["persons"] = max(USED["persons"], index + 1)
    return index


class ChatUser(HttpUser):
    # The pause between journeys is drawn like the pauses between messages (0 in capacity mode).
    def wait_time(self) -> float:
        return random.uniform(*PAUSE)

    @task
    def converse(self) -> None:
        flow, turns = journey(next(JOURNEYS), SEED, WORKERS, PERSONS, _worker, _person)
        sender = f"bench-{BOT}-{uuid.uuid4().hex[:12]}"
        # Each user's own address, as the proxy in front of Rasa reports it (channels/rest.py reads
        # X-Real-IP): the backends throttle per client, and real users are not all one address.
        self.address = f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        pending = list(turns)
        while pending:
            turn = pending.pop(0)
            if PAUSE[1] > 0:
                time.sleep(random.uniform(*PAUSE))
            if not self._say(sender, flow, turn, last=not pending):
                return  # a wrong answer ends the journey, as it would for a real user
            if self.detour:
                pending.insert(0, self.detour)

    def _say(self, sender: str, flow: str, turn: Turn, last: bool) -> bool:
        text, problem, wrong_reply, silent = turn.text, None, None, False
        self.detour = None
        if turn.otp_for:
            code = self._latest_code(turn.otp_for) if BOT == "assistant" else f"{random.randint(0, 999999):06d}"
            text = otp_text(code, turn.otp_format) if code else None
            if text is None:
                problem = "no OTP in the outbox"
        started_at, started = time.time(), time.perf_counter()
        if problem is None:
            with self.client.post("/webhooks/rest/webhook", json={"sender": sender, "message": text},
                                  headers={"X-Real-IP": self.address}, name=f"{flow}", catch_response=True,
                                  timeout=60) as response:
                if response.status_code != 200:
                    problem = "HTTP error"
                    wrong_reply = f"HTTP {response.status_code}"
                else:
                    try:
                        messages = response.json()
                    except ValueError:
                        messages = None
                    if BOT == "assistant":
                        problem = reply_problem(turn, messages)
                        self.detour = detour_taken(turn, messages) if problem is None else None
                    else:
                        problem, silent = stock_problem(messages), messages == []
                    if problem:   # what the bot said instead (synthetic seed data, for the log)
                        wrong_reply = " | ".join(m.get("text") or "" for m in messages
                                                 if isinstance(m, dict))[:300] if isinstance(messages, list) else ""
                if problem:
                    response.failure(problem)
        elapsed_ms = (time.perf_counter() - started) * 1000
        SAMPLES.write(json.dumps({"t": started_at, "ms": round(elapsed_ms, 2), "ok": problem is None,
                                  "error": problem, "counts": is_error(problem), "flow": flow, "step": turn.step,
                                  "last_turn": last, "silent": silent, "sent": text,
                                  **({"reply": wrong_reply} if problem else {})}) + "\n")
        return problem is None

    def _latest_code(self, phone: str):
        response = self.client.get(f"{CERTIFICATE_URL}/dev/outbox", params={"phone": phone},
                                   headers={"X-API-Key": CERTIFICATE_KEY}, name="(dev outbox)", timeout=30)
        if response.status_code != 200 or not response.json():
            return None
        match = re.search(r"\b(\d{6})\b", response.json()[-1]["text"])
        return match.group(1) if match else None
