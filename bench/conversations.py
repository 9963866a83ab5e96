"""The scripted conversations the simulated users hold, and the check of every reply.

Pure Python with no Locust or Rasa import, so the scripts can be unit-tested against a fake bot
and shared by the Locust users (bench venv) and the tests (Rasa venv). A conversation is a list of
turns; each turn says what the user types and which fragments the bot's answer must contain. A
reply that is empty or misses a fragment counts as an error, exactly like an HTTP error.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

SCREENING_ANSWERS = ("tidak", "gak", "tdk", "nggak", "tidak pernah", "tidak ada", "bukan")


@dataclass(frozen=True)
class Turn:
    text: str = ""
    expect: Tuple[str, ...] = ()          # every fragment must appear in the joined reply texts
    expect_image: bool = False            # the reply must carry an image (ticket QR, certificate)
    otp_for: Optional[str] = None         # send the latest code the SMS outbox holds for this phone


@dataclass(frozen=True)
class HealthWorker:
    nik_suffix: str
    name: str


@dataclass(frozen=True)
class Person:
    phone: str                            # local form as users type it, e.g. 0815...
    new_name: str                         # the corrected name the user asks for


def registration_to_ticket(worker: HealthWorker) -> List[Turn]:
    """Health-worker registration from the first message to the QR ticket (13 messages)."""
    turns = [
        Turn("Vaksin", ("tenaga kesehatan",)),
        Turn("ya", ("6 digit terakhir",)),
        Turn(worker.nik_suffix, (worker.name,)),
        Turn("iya benar", ("1/7",)),
    ]
    turns += [Turn(answer, (f"{number + 2}/7",)) for number, answer in enumerate(SCREENING_ANSWERS[:-1])]
    turns += [
        Turn(SCREENING_ANSWERS[-1], ("1. ", "sesi")),
        Turn("1", ("Apakah jadwal ini sudah benar",)),
        Turn("ya", ("Pendaftaran berhasil",), expect_image=True),
    ]
    return turns


def name_change_and_certificate(person: Person) -> List[Turn]:
    """PeduliLindungi: phone + OTP verification, name change, certificate download (7 messages)."""
    return [
        Turn("nama di sertifikat salah", ("nomor HP yang terdaftar",)),
        Turn(person.phone, ("Jika nomor tersebut terdaftar",)),
        Turn(otp_for=person.phone, expect=("berhasil diverifikasi", "nama lengkap")),
        Turn(person.new_name, (person.new_name,)),
        Turn("ya", ("berhasil diubah",)),
        Turn("unduh sertifikat", ("dosis mana",)),
        Turn("2", ("sertifikat vaksinasi",), expect_image=True),
    ]


def stock_small_talk() -> List[Turn]:
    """The stock `rasa init` bot's whole repertoire, at the length of the assistant's flows (10).

    Every turn follows one of the bot's own stories or rules (a "no" after a second cheer-up, for
    example, is outside its stories and gets no answer), so a failure here is the server's."""
    return [
        Turn("hello", ("How are you",)),
        Turn("I am sad", ("Did that help you?",), expect_image=True),
        Turn("yes", ("Great, carry on!",)),
        Turn("are you a bot?", ("I am a bot, powered by Rasa.",)),
        Turn("hi there", ("How are you",)),
        Turn("I am great", ("Great, carry on!",)),
        Turn("good morning", ("How are you",)),
        Turn("very bad", ("Did that help you?",), expect_image=True),
        Turn("goodbye", ("Bye",)),
        Turn("are you a human?", ("I am a bot, powered by Rasa.",)),
    ]


def reply_problem(turn: Turn, messages: object) -> Optional[str]:
    """Why a REST-channel reply does not answer `turn` (None when it does)."""
    if not isinstance(messages, list) or not messages:
        return "empty reply"
    if not all(isinstance(message, dict) for message in messages):
        return "malformed reply"
    joined = "\n".join(str(message.get("text") or "") for message in messages)
    missing = [fragment for fragment in turn.expect if fragment not in joined]
    if missing:
        return f"reply lacks {missing[0]!r}"
    if turn.expect_image and not any(message.get("image") for message in messages):
        return "reply lacks the image"
    return None


def manifest_identities(manifest: Dict[str, Sequence[dict]]) -> Tuple[List[HealthWorker], List[Person]]:
    """The synthetic identities `bench.seed` wrote, as conversation inputs."""
    workers = [HealthWorker(item["nik_suffix"], item["name"]) for item in manifest["health_workers"]]
    persons = [Person(item["phone"], item["new_name"]) for item in manifest["persons"]]
    return workers, persons
