"""Six NIK digits are guessable, not a secret: guessing reveals nobody."""
from __future__ import annotations

import datetime as dt
import json
import random
import uuid

import requests

REGISTRATION_KEY = {"X-API-Key": "dev-registration-key"}
# What identification shows once it succeeded: names, facilities and sites, the ticket's QR image.
PERSONAL_WORDS = ("Siti", "Rahmawati", "Budi", "Dewi", "Andi", "Puskesmas", "RSUP", "Klinik", "ditemukan",
                  "qr.png", "NIK: ", "Lokasi:")


def say(stack, sender, text):
    return requests.post(f"{stack.urls['rasa']}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                         timeout=60).json()


def test_guesses_in_the_chat_reveal_nothing_and_are_throttled(stack):
    rng = random.Random(99)
    replies = []
    for attempt in range(12):
        sender = f"guess-{uuid.uuid4().hex[:8]}"    # a new conversation each time, from the same web client
        say(stack, sender, "tiket saya")
        for digits in ("900012", f"{rng.randrange(10 ** 6):06d}"):
            asked = json.dumps(say(stack, sender, digits))
            assert "tanggal lahir" in asked or "Terlalu" in asked or "terlalu banyak" in asked
            born = dt.date(1990, 1, 1) + dt.timedelta(days=rng.randrange(364))
            if born == dt.date(1990, 6, 13):
                born += dt.timedelta(days=1)
            replies.append(json.dumps(say(stack, sender, born.strftime("%d-%m-%Y")), ensure_ascii=False))
            say(stack, sender, "tiket saya")
    text = "\n".join(replies)
    for word in PERSONAL_WORDS:
        assert word not in text, word
    assert "terlalu banyak percobaan" in text  # the client is throttled after a few misses


def test_a_thousand_random_guesses_reveal_no_name_facility_site_or_ticket(stack):
    """What the action server would ask for each guess (fresh requesters, so the throttle hides
    nothing): only a wrong birth date's "none", never a name, facility, site or ticket."""
    rng = random.Random(13)
    revealed, asked = 0, 0
    http = requests.Session()
    http.headers.update(REGISTRATION_KEY)
    for index in range(1000):
        digits = f"{rng.randrange(10 ** 6):06d}"
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(40 * 365))
        answer = http.post(f"{stack.urls['registration']}/v1/targets/lookup",
                           json={"nik_suffix": digits, "birth_date": born.isoformat(),
                                 "requesters": [f"conversation:rest:guess-{index}"]}, timeout=30)
        asked += 1
        body = answer.json()
        if answer.status_code == 200 and body.get("target_id") is not None:
            revealed += 1
        assert set(body) <= {"status", "target_id", "error"}
    print(f"random guesses: {asked} asked, {revealed} revealed anyone")
    assert revealed == 0
