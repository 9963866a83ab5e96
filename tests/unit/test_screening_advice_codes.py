"""Every advice the registration service can send after the screening has the bot's words for it in
the domain (domain/screening.yml), filled in from the advice's own data; the service sends codes
and figures, not words."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from actions.vaccine_registration import ADVICE_RESPONSE_PREFIX, UNKNOWN_ADVICE_RESPONSE, SCREENING_SLOTS
from backends.registration import domain as registration

ROOT = Path(__file__).resolve().parents[2]
# Indonesian words the screening's wording uses; none belongs in the service.
INDONESIAN = re.compile(r"\b(Anda|Silakan|ditunda|konsultasikan|sembuh|Apakah)\b", re.IGNORECASE)


def _responses() -> dict:
    responses = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return responses


def _every_finding_alone():
    no_findings = {key: False for key in registration.SCREENING_KEYS}
    for key in registration.SCREENING_KEYS:
        yield key, registration.evaluate_screening(dict(no_findings, **{key: True}))


def test_every_finding_sends_an_advice_code():
    """The walk below sees every question (a broken one would make the next tests pass on nothing)."""
    advised = {key: result.advice for key, result in _every_finding_alone()}
    assert set(advised) == set(registration.SCREENING_KEYS) == set(SCREENING_SLOTS.values())
    assert all(len(advice) == 1 for advice in advised.values())
    assert {advice[0].code for advice in advised.values()} == set(registration.ADVICE_CODES)


@pytest.mark.parametrize("code", registration.ADVICE_CODES)
def test_every_advice_code_has_its_response_in_the_domain(code):
    assert ADVICE_RESPONSE_PREFIX + code in _responses(), f"add {ADVICE_RESPONSE_PREFIX}{code} to domain/screening.yml"


@pytest.mark.parametrize("question", registration.SCREENING_QUESTIONS, ids=lambda q: q.key)
def test_the_data_of_an_advice_fills_every_value_its_response_names(question):
    texts = [variation["text"] for variation in _responses()[ADVICE_RESPONSE_PREFIX + question.advice.code]]
    named = {name for text in texts for name in re.findall(r"{(\w+)}", text)}
    assert named == set(question.advice.data), (question.advice.code, named, dict(question.advice.data))


def test_every_screening_question_is_asked_in_the_domains_words():
    responses = _responses()
    assert all(f"utter_ask_screening_{key}" in responses for key in registration.SCREENING_KEYS)


def test_no_advice_response_is_left_for_a_code_the_service_never_sends():
    stale = [name for name in _responses() if name.startswith(ADVICE_RESPONSE_PREFIX)
             and name[len(ADVICE_RESPONSE_PREFIX):] not in registration.ADVICE_CODES]
    assert stale == []
    assert UNKNOWN_ADVICE_RESPONSE in _responses()  # the safe advice for a code the domain lacks


def test_the_service_sends_codes_and_figures_not_words():
    for question in registration.SCREENING_QUESTIONS:
        values = [question.key, question.outcome_if_yes, question.advice.code, *map(str, question.advice.data)]
        values += [str(value) for value in question.advice.data.values()]
        assert all(value.isascii() and not INDONESIAN.search(value) for value in values), question
    source = (ROOT / "backends/registration/domain.py").read_text(encoding="utf-8")
    strings = re.findall(r'"([^"\n]*)"', source)
    assert [s for s in strings if INDONESIAN.search(s)] == []
