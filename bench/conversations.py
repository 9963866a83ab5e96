"""The scripted conversations the simulated users hold, and the check of every reply.

Pure Python with no Locust or Rasa import, so the scripts can be unit-tested against a fake bot
and shared by the Locust users (bench venv) and the tests (Rasa venv). A conversation is a list of
turns; each turn says what the user types (drawn from bench/phrasing.py's pools with a seeded
random generator, so every user words it differently) and which fragments the bot's answer must
contain. Errors: an HTTP error, no reply, the bot's generic error text ("Mohon maaf, sistem kami
sedang mengalami gangguan ..."). Misunderstood: its fallback ("I did not understand") or an
ordinary reply that misses a fragment ("off-script"). Either ends the journey, as a real user
would stop or start over.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from bench import phrasing

SCREENING_QUESTIONS = 7
OTP_FORMATS = ("{code}", "{code}", "{a} {b}", "kodenya {code}", "{code} kak", "ini kodenya {code}")
# The bot's generic error and apology texts (domain/backend_errors.yml, domain/fallback.yml): such a
# reply is an error even with HTTP 200.
ERROR_MARKERS = ("mengalami gangguan", "terjadi gangguan", "karena gangguan sistem",
                 "Mohon maaf, permintaan Anda belum dapat kami proses",
                 "Mohon maaf, data yang Anda kirim belum dapat kami proses",
                 "Mohon maaf, pengaturan notifikasi belum dapat diproses")
FALLBACK_MARKERS = ("belum memahami pesan Anda", "Maaf, saya kurang yakin")
# What counts against the "0 errors" target. A fallback ("I did not understand") or an "off-script"
# reply (an ordinary answer, but not the one the journey expects: the NLU took the text for
# something else) is counted apart, as misunderstood.
ERROR_KINDS = ("HTTP error", "no reply", "error text")


@dataclass(frozen=True)
class Turn:
    text: str = ""
    expect: Tuple[str, ...] = ()          # every fragment must appear in the joined reply texts
    expect_image: bool = False            # the reply must carry an image (ticket QR, certificate)
    otp_for: Optional[str] = None         # send the latest code the SMS outbox holds for this phone
    otp_format: str = "{code}"            # how the user types that code (otp_text)
    step: str = ""                        # which pool the text came from (greeting, yes, faq, ...)
    # When the reply holds detour[0] instead of `expect`, the user answers with detour[1] first (as a
    # real user answers the question the bot did ask), then goes on.
    detour: Optional[Tuple[str, "Turn"]] = None


@dataclass(frozen=True)
class HealthWorker:
    nik_suffix: str
    name: str
    birth_date: str = "1985-03-15"        # ISO; the bot asks it after the NIK digits


@dataclass(frozen=True)
class Person:
    phone: str                            # local form as users type it, e.g. 0815...
    new_name: str                         # the corrected name the user asks for


def _maybe_greet(rng: random.Random, chance: float = 0.4) -> List[Turn]:
    return [Turn(phrasing.greeting(rng), ("selamat datang",), step="greeting")] if rng.random() < chance else []


def registration_to_ticket(worker: HealthWorker, rng: Optional[random.Random] = None) -> List[Turn]:
    """Health-worker registration from the first message to the QR ticket (13-15 messages)."""
    rng = rng or random.Random(0)
    text, as_worker = phrasing.register(rng)
    turns = _maybe_greet(rng)
    if as_worker:   # "saya bidan, mau vaksin": the bot skips "are you a health worker?" (unless a typo hid it)
        turns.append(Turn(text, ("6 digit terakhir",), step="register",
                          detour=("tenaga kesehatan", Turn(phrasing.yes(rng), ("6 digit terakhir",), step="yes"))))
    else:
        turns += [Turn(text, ("tenaga kesehatan",), step="register"),
                  Turn(phrasing.yes(rng), ("6 digit terakhir",), step="yes")]
    turns += [
        Turn(phrasing.nik_suffix(worker.nik_suffix, rng), ("tanggal lahir",), step="nik"),
        Turn(phrasing.birth_date(dt.date.fromisoformat(worker.birth_date), rng), (worker.name,), step="birth date"),
        Turn(phrasing.yes(rng), ("1/7",), step="yes"),
    ]
    turns += [Turn(phrasing.no(rng), (f"{number + 2}/7",), step="no") for number in range(SCREENING_QUESTIONS - 1)]
    slot_text, _number = phrasing.slot(rng)
    turns += [
        Turn(phrasing.no(rng), ("1. ", "sesi"), step="no"),
        Turn(slot_text, ("Apakah jadwal ini sudah benar",), step="slot"),
        Turn(phrasing.yes(rng), ("Pendaftaran berhasil",), expect_image=True, step="yes"),
    ]
    return turns


def name_change_and_certificate(person: Person, rng: Optional[random.Random] = None) -> List[Turn]:
    """A certificate complaint: phone + OTP verification, name change, certificate download (7-8 messages)."""
    rng = rng or random.Random(0)
    return _maybe_greet(rng) + [
        Turn(phrasing.complaint(rng), ("nomor HP yang terdaftar",), step="complaint"),
        Turn(phrasing.phone(person.phone, rng), ("Jika nomor tersebut terdaftar",), step="phone"),
        Turn(otp_for=person.phone, otp_format=rng.choice(OTP_FORMATS),
             expect=("berhasil diverifikasi", "nama lengkap"), step="otp"),
        Turn(phrasing.name(person.new_name, rng), (person.new_name,), step="name"),
        Turn(phrasing.yes(rng), ("berhasil diubah",), step="yes"),
        Turn(phrasing.download(rng), ("dosis mana",), step="download"),
        Turn(phrasing.dose(rng), ("sertifikat vaksinasi",), expect_image=True, step="dose"),
    ]


def faq_visit(rng: Optional[random.Random] = None) -> List[Turn]:
    """Questions and chit-chat: a greeting, three FAQ topics, maybe "are you a bot?", thanks, goodbye (6-7)."""
    rng = rng or random.Random(0)
    turns = [Turn(phrasing.greeting(rng), ("selamat datang",), step="greeting")]
    asked: List[str] = []
    for number in range(3):
        topic, text, fragment = phrasing.faq(rng, exclude=asked)
        asked.append(topic)
        turns.append(Turn(text, (fragment,), step="faq"))
        if number == 1 and rng.random() < 0.5:
            text, fragment = phrasing.chitchat(rng, "bot_challenge")
            turns.append(Turn(text, (fragment,), step="chitchat"))
    text, fragment = phrasing.chitchat(rng, "thank")
    turns.append(Turn(text, (fragment,), step="chitchat"))
    turns.append(Turn(phrasing.goodbye(rng), ("Sampai jumpa",), step="goodbye"))
    return turns


def otp_text(code: str, fmt: str) -> str:
    return fmt.format(code=code, a=code[:3], b=code[3:])


def reply_problem(turn: Turn, messages: object) -> Optional[str]:
    """Why a REST-channel reply does not answer `turn` (None when it does): "no reply", "error text",
    "fallback", or "off-script: ..." (fragments compared without regard to case)."""
    if not isinstance(messages, list) or not messages:
        return "no reply"
    if not all(isinstance(message, dict) for message in messages):
        return "no reply"
    joined = "\n".join(str(message.get("text") or "") for message in messages)
    if any(marker in joined for marker in ERROR_MARKERS):
        return "error text"
    if any(marker in joined for marker in FALLBACK_MARKERS):
        return "fallback"
    missing = [fragment for fragment in turn.expect if fragment.lower() not in joined.lower()]
    if missing and turn.detour and turn.detour[0].lower() in joined.lower():
        return None
    if missing:
        return f"off-script: lacks {missing[0]!r}"
    if turn.expect_image and not any(message.get("image") for message in messages):
        return "off-script: lacks the image"
    return None


def detour_taken(turn: Turn, messages: object) -> Optional[Turn]:
    """The extra turn to send when the reply asked the detour's question."""
    if not turn.detour or not isinstance(messages, list):
        return None
    joined = "\n".join(str(m.get("text") or "") for m in messages if isinstance(m, dict)).lower()
    if turn.detour[0].lower() in joined and not all(f.lower() in joined for f in turn.expect):
        return turn.detour[1]
    return None


def is_error(problem: Optional[str]) -> bool:
    """Whether a problem counts against the 0-errors target (misunderstood texts do not)."""
    return problem is not None and not problem.startswith("off-script") and problem != "fallback"


def stock_problem(messages: object) -> Optional[str]:
    """The stock bot does not understand Indonesian: its replies are only checked to be a JSON list
    (an empty one is its ordinary "no prediction" answer, counted apart as `silent`)."""
    return None if isinstance(messages, list) else "no reply"


def journey(index: int, seed: int, workers: Sequence["HealthWorker"], persons: Sequence["Person"],
            next_worker, next_person) -> Tuple[str, List[Turn]]:
    """The `index`-th journey of a run: registration, FAQ visit, certificate complaint in turn, with
    texts from random.Random(f"{seed}-{index}") (the same for every bot)."""
    rng = random.Random(f"{seed}-{index}")
    kind = index % 3
    if kind == 0:
        return "registration", registration_to_ticket(workers[next_worker()], rng)
    if kind == 1:
        return "faq", faq_visit(rng)
    return "certificate", name_change_and_certificate(persons[next_person()], rng)


def manifest_identities(manifest: Dict[str, Sequence[dict]]) -> Tuple[List[HealthWorker], List[Person]]:
    """The synthetic identities `bench.seed` wrote, as conversation inputs."""
    workers = [HealthWorker(item["nik_suffix"], item["name"], item["birth_date"]) for item in manifest["health_workers"]]
    persons = [Person(item["phone"], item["new_name"]) for item in manifest["persons"]]
    return workers, persons
