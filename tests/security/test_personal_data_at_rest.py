"""A generated corpus of NIK, phone and OTP spellings typed into every question of every flow leaves
nothing raw in the SQL tracker store, in any service's log, or in any reply.

Each flow is walked question by question; at each question a share of the corpus is typed (spellings
that are not a valid answer there, so the question stays), then a valid answer moves on. The needles
searched for are the values' digits in a view of the text where every digit run is written without
its separators, so "0812 - 3456 - 7890" stored verbatim would be found."""
from __future__ import annotations

import itertools
import re
import uuid
from typing import Iterator, List

import requests

from actions.parsing import yes_or_no
from indonesian_text.digits import hideable_runs
from tests.conversation.harness import texts
from tests.security.conftest import all_logs, reply_texts, stored_tracker_text
from tests.security.corpus import Spelling, spellings

DEV_KEY = {"X-API-Key": "dev-certificate-key"}
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:[+-]\d{2}:?\d{2}|Z)?")
# Identifiers that are hex strings: Rasa's 32-character event and message ids, UUIDs, the corpus senders.
# Among thousands of them some hold six decimal digits in a row by chance ("…a509475f…"), which is not a
# typed value (a typed value is never glued to hex letters in the corpus).
_HEX_IDENTIFIER = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
                             r"|\bcorpus-[0-9a-f]{8}\b")


def digits_view(text: str) -> str:
    """`text` with every digit run written as bare digits (separators dropped), timestamps removed."""
    text = _HEX_IDENTIFIER.sub(" ", _TIMESTAMP.sub(" ", text))
    pieces, position = [], 0
    for run in hideable_runs(text):
        pieces.append(text[position:run.start])
        pieces.append(run.digits)
        position = run.end
    pieces.append(text[position:])
    return "".join(pieces)


def leaks(haystack: str, corpus: List[Spelling]) -> List[str]:
    view = digits_view(haystack)
    found = []
    for spelling in corpus:
        for needle in spelling.needles:
            if re.search(rf"(?<!\d){needle}" if len(needle) >= 9 else rf"(?<!\d){needle}(?!\d)", view):
                found.append(f"{spelling.kind} {spelling.text!r}")
                break
    return found


class Typist:
    """One conversation; types corpus spellings at the current question and remembers every reply."""

    def __init__(self, stack, corpus: Iterator[Spelling], replies: List[str]):
        self.stack, self.corpus, self.replies = stack, corpus, replies
        self.sender = f"corpus-{uuid.uuid4().hex[:8]}"
        self.typed: List[Spelling] = []

    def say(self, text: str) -> str:
        reply = reply_texts(self.stack.say(self.sender, text))
        self.replies.append(reply)
        return reply

    def type_corpus(self, count: int, kinds=("nik", "phone", "otp"), yes_no_question: bool = False) -> None:
        """`count` spellings of `kinds`; at a yes/no question only those that hold no yes or no word
        ("no hp …", "ya …" answer it), so the conversation stays at the question."""
        def fits(spelling: Spelling) -> bool:
            return spelling.kind in kinds and not (yes_no_question and yes_or_no(spelling.text) is not None)

        for spelling in itertools.islice((s for s in self.corpus if fits(s)), count):
            self.typed.append(spelling)
            self.say(spelling.text)


def _latest_code(stack, phone: str) -> str:
    messages = requests.get(f"{stack.urls['certificate']}/dev/outbox", params={"phone": phone}, headers=DEV_KEY,
                            timeout=10).json()
    return re.search(r"\b(\d{6})\b", messages[-1]["text"]).group(1)


REGISTRATION = ["Vaksin", "ya", "880021", "4 Februari 1988", "ya"]
YES_NO = {"yes_no_question": True}
NOT_DIGITS = {"kinds": ("nik", "phone")}     # six digits answer the NIK-digits question
SUBMISSION = ["saya nakes tapi belum dapat sms", "3171016501920005", "Rini Marlina", "bidan",
              "Klinik 0812 9999 8888"]      # a facility name with a phone in it is stored sealed
# (messages that lead to a question, what may be typed there): every question of every flow. Each is a
# conversation of its own, as users' are; the answers that lead there are valid, and what is typed at the
# question is not (so the question stays).
QUESTIONS = [
    ([], {}),                                                   # outside any flow
    (REGISTRATION[:1], YES_NO),                                 # a health worker?
    (REGISTRATION[:2], NOT_DIGITS),                             # the 6 NIK digits
    (REGISTRATION[:3], {}),                                     # the birth date
    (REGISTRATION[:4], YES_NO),                                 # this site?
    *[(REGISTRATION + ["tidak"] * answered, YES_NO) for answered in range(7)],   # the screening questions
    (REGISTRATION + ["tidak"] * 7, {}),                         # the slot list
    (REGISTRATION + ["tidak"] * 7 + ["1"], YES_NO),             # this slot?
    (["tiket saya"], NOT_DIGITS),                               # the ticket: digits, then birth date
    (["tiket saya", "900012"], {}),
    (SUBMISSION[:1], {"kinds": ("phone", "otp")}),              # the full NIK
    (SUBMISSION[:2], {}),                                       # the name
    (SUBMISSION[:3], {}),                                       # the profession
    (SUBMISSION, {"kinds": ("nik", "otp")}),                    # the phone
    (SUBMISSION + ["0812-3456-7001"], YES_NO),                  # the summary: ya/tidak?
    (["unduh sertifikat"], {"kinds": ("nik", "otp")}),          # PeduliLindungi: the phone
    (["ubah data diri", "081110000002"], {"kinds": ("nik", "phone")}),   # the code
]


def test_no_spelling_of_a_nik_phone_or_otp_is_stored_logged_or_replied_raw(stack):
    corpus = spellings(2000)
    pool = iter(corpus)
    replies: List[str] = []
    typed: List[Spelling] = []
    per_question = 1100 // len(QUESTIONS) + 1
    for lead, where in QUESTIONS:
        typist = Typist(stack, pool, replies)
        for message in lead:
            typist.say(message)
        typist.type_corpus(per_question, **where)
        typed += typist.typed
    # After verification: the dose question, the field question, and the new name.
    pl = Typist(stack, pool, replies)
    pl.say("unduh sertifikat")
    pl.say("081110000002")
    pl.type_corpus(4, kinds=("otp",))                  # wrong codes (the fifth would end the code)
    pl.say(_latest_code(stack, "+6281110000002"))
    pl.type_corpus(per_question // 2)                  # which dose?
    pl.say("batal")
    pl.say("ubah data diri")
    pl.type_corpus(per_question // 2)                  # which field?
    pl.say("1")
    pl.type_corpus(per_question // 2)                  # the new name: digits are not a name
    typed += pl.typed

    assert len(typed) >= 1000, len(typed)
    assert {s.kind for s in typed} == {"nik", "phone", "otp"}
    found = {"tracker store": leaks(stored_tracker_text(stack), typed), "logs": leaks(all_logs(stack), typed),
             "replies": leaks("\n".join(replies), typed)}
    print(f"{len(typed)} spellings typed at {len(QUESTIONS) + 3} questions; leaks: "
          + ", ".join(f"{k} {len(v)}" for k, v in found.items()))
    assert found == {"tracker store": [], "logs": [], "replies": []}
