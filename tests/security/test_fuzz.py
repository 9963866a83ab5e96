"""Hostile and malformed messages from the chat: every one gets an answer, none makes an action raise,
none gets a 5xx. `SECURITY_FUZZ_MESSAGES` messages (default 2,000 in `make test`; `make fuzz` sends
10,000), from several conversations at once, some of them inside forms."""
from __future__ import annotations

import json
import os
import random
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Tuple

import requests

ENTITY_VALUES = ("12", "1e309", "-1", "null", "true", "[]", "{}", '{"a": 1}', '"x"', '"' + "9" * 40 + '"',
                 '"\\u0000"', "123456789012345678901234567890", '["3171055306900012"]', '"<script>"')
ENTITIES = ("submission_reference", "phone_number", "nik", "nik_suffix", "otp_code", "option_number", "date",
            "person_name", "profession", "number", "unknown")
INTENTS = ("inform", "check_submission_status", "register_vaccine", "EXTERNAL_appointment_tomorrow",
           "EXTERNAL_second_dose_due", "session_start", "restart", "faq", "cancel", "affirm", "nlu_fallback",
           "download_certificate", "human_handoff", "does_not_exist")
WORDS = ("vaksin", "ya", "tidak", "batal", "halo", "menu", "tiket saya", "unduh sertifikat", "ganti nomor hp",
         "petugas", "nama saya", "nik", "kode", "besok pagi", "tgl 7", "yang kedua", "min", "kak", "gimana",
         "'; DROP TABLE events; --", "${jndi:ldap://x}", "{{7*7}}", "%s%s%s", "\\x00", "NKS-AAAAAAAA",
         "ESK-", "😀" * 3, "٣١٧١", "３１７１", "\u202e", "\t", "\n\n", "..", "////", "/", "/ya")
STARTS = ("Vaksin", "tiket saya", "unduh sertifikat", "saya nakes tapi belum dapat sms", "ubah data diri", "halo")


def hostile(rng: random.Random) -> str:
    kind = rng.randrange(10)
    if kind == 0:
        return f'/{rng.choice(INTENTS)}{{"{rng.choice(ENTITIES)}": {rng.choice(ENTITY_VALUES)}}}'
    if kind == 1:
        return f"/{rng.choice(INTENTS)}"
    if kind == 2:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 60)))
    if kind == 3:
        return rng.choice(("a", "kata ", "9", "😀 ")) * rng.randrange(1000, 6000)
    if kind == 4:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randrange(1, 12)))
    if kind == 5:
        return "".join(rng.choice("0123456789 -./()+") for _ in range(rng.randrange(1, 40)))
    if kind == 6:
        return rng.choice(("", " ", "\u200b", "\x00", "\r\n"))
    if kind == 7:
        return json.dumps({"nested": [{"x": "y"}] * rng.randrange(1, 5)})
    if kind == 8:
        return rng.choice(STARTS)
    return rng.choice(WORDS)


def _exchange(stack, sender: str, text: str) -> Tuple[int, list]:
    response = requests.post(f"{stack.urls['rasa']}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                             timeout=120)
    try:
        body = response.json()
    except ValueError:
        body = None
    return response.status_code, body


def test_hostile_messages_get_answers_never_crashes(stack):
    total = int(os.environ.get("SECURITY_FUZZ_MESSAGES", "2000"))
    rng = random.Random(1337)
    conversations = 8
    plans: List[List[str]] = [[] for _ in range(conversations)]
    for index in range(total):
        plans[index % conversations].append(hostile(rng))

    def run(plan: List[str]) -> List[Tuple[str, int, list]]:
        sender, out = f"fuzz-{uuid.uuid4().hex[:8]}", []
        for text in plan:
            status, body = _exchange(stack, sender, text)
            out.append((text, status, body))
        return out

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = [r for batch in pool.map(run, plans) for r in batch]
    server_errors = [(t[:60], s) for t, s, _ in results if s >= 500]
    # A body the channel refuses is a 400 only when it is not a chat message; every message is one here.
    refused = [(t[:60], s) for t, s, _ in results if 400 <= s < 500]
    empty = [t[:60] for t, s, body in results if s == 200 and not body]
    action_log = (Path(stack.workdir) / "actions.log").read_text(errors="replace")
    rasa_log = (Path(stack.workdir) / "rasa.log").read_text(errors="replace")
    action_exceptions = re.findall(r"action \S+ failed: \w+", action_log)
    rasa_action_errors = re.findall(r"Encountered an exception while running action", rasa_log)
    print(f"fuzz: {len(results)} messages, {len(server_errors)} 5xx, {len(refused)} 4xx, {len(empty)} empty replies, "
          f"{len(action_exceptions)} action exceptions, {len(rasa_action_errors)} failed actions in Rasa")
    assert server_errors == [] and refused == []
    assert empty == []
    assert action_exceptions == [] and rasa_action_errors == []
