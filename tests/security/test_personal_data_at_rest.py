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


def digits_view(text: str) -> str:
    """`text` with every digit run written as bare digits (separators dropped), timestamps removed."""
    text = _TIMESTAMP.sub(" ", text)
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


def test_no_spelling_of_a_nik_phone_or_otp_is_stored_logged_or_replied_raw(stack):
    corpus = spellings(1200)
    pool = iter(corpus)
    replies: List[str] = []
    typed: List[Spelling] = []
    per_question = 48

    # Registration: every question, then cancel. (An OTP is six digits: a valid answer to the NIK digits.)
    registration = Typist(stack, pool, replies)
    registration.say("Vaksin")
    registration.type_corpus(per_question, yes_no_question=True)
    registration.say("ya")
    registration.type_corpus(per_question, kinds=("nik", "phone"))
    registration.say("880021")
    registration.type_corpus(per_question)            # birth date question: none is a date
    registration.say("4 Februari 1988")
    registration.type_corpus(per_question, yes_no_question=True)  # site question
    registration.say("ya")
    for _ in range(7):                                 # the seven screening questions
        registration.type_corpus(per_question // 2, yes_no_question=True)
        registration.say("tidak")
    registration.type_corpus(per_question)             # the slot list
    registration.say("1")
    registration.type_corpus(per_question, yes_no_question=True)  # confirm the slot?
    registration.say("batal")
    registration.type_corpus(per_question)             # outside any form
    typed += registration.typed

    # "tiket saya": digits, birth date.
    ticket = Typist(stack, pool, replies)
    ticket.say("tiket saya")
    ticket.type_corpus(per_question, kinds=("nik", "phone"))
    ticket.say("900012")
    ticket.type_corpus(per_question)
    typed += ticket.typed

    # Missing health worker: the NIK question (phones and codes are not a NIK), the name question, the
    # phone question (NIKs and codes are not a phone), the summary.
    submission = Typist(stack, pool, replies)
    submission.say("saya nakes tapi belum dapat sms")
    submission.type_corpus(per_question, kinds=("phone", "otp"))
    submission.say("3171016501920005")
    submission.type_corpus(per_question)
    submission.say("Rini Marlina")
    submission.type_corpus(per_question)               # profession: none is one
    submission.say("bidan")
    submission.say("Klinik 0812 9999 8888")           # a facility name with a phone in it is stored sealed
    submission.type_corpus(per_question, kinds=("nik", "otp"))
    submission.say("0812-3456-7001")
    submission.type_corpus(per_question, yes_no_question=True)  # the summary: ya/tidak?
    submission.say("batal")
    typed += submission.typed

    # PeduliLindungi: the phone question, the code question, then the menu and a name change.
    pl = Typist(stack, pool, replies)
    pl.say("unduh sertifikat")
    pl.type_corpus(per_question, kinds=("nik", "otp"))
    pl.say("081110000002")
    pl.type_corpus(per_question // 2, kinds=("nik", "phone"))
    pl.type_corpus(4, kinds=("otp",))                  # wrong codes (the fifth would end the code)
    pl.say(_latest_code(stack, "+6281110000002"))
    pl.type_corpus(per_question)                       # which dose?
    pl.say("batal")
    pl.say("ubah data diri")
    pl.type_corpus(per_question)                       # which field?
    pl.say("1")
    pl.type_corpus(per_question)                       # the new name: digits are not a name
    pl.say("batal")
    typed += pl.typed

    assert len(typed) >= 1000, len(typed)
    assert {s.kind for s in typed} == {"nik", "phone", "otp"}
    found = {"tracker store": leaks(stored_tracker_text(stack), typed), "logs": leaks(all_logs(stack), typed),
             "replies": leaks("\n".join(replies), typed)}
    print(f"{len(typed)} spellings typed; leaks: " + ", ".join(f"{k} {len(v)}" for k, v in found.items()))
    assert found == {"tracker store": [], "logs": [], "replies": []}
