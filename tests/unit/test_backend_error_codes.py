"""Every code the registration, certificate and notification services can answer with has the bot's words for it
in the domain (domain/backend_errors.yml), and the backends send codes and data, not words."""
from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

import backends.certificate.domain  # noqa: F401 - defines DomainError subclasses
import backends.certificate.services  # noqa: F401
import backends.notifications.domain  # noqa: F401
import backends.notifications.services  # noqa: F401
import backends.registration.domain  # noqa: F401
import backends.registration.services  # noqa: F401
from actions.backend_calls import GENERIC_ERROR_RESPONSE, domain_response_names, error_response
from backends.certificate import domain as certificate
from backends.registration import domain as registration
from backends.shared import identity
from backends.shared.errors import DomainError
from backends.shared.web import GENERIC_CODES

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registration", "certificate", "notifications")


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def domain_error_classes(service: str):
    return sorted({c for c in _subclasses(DomainError) if c.__module__.startswith(f"backends.{service}.")},
                  key=lambda c: c.__qualname__)


def _string_args(paths, function: str, position: int):
    """The literal `position`-th argument of every call to `function` in the files."""
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == function:
                argument = node.args[position] if len(node.args) > position else None
                assert isinstance(argument, ast.Constant), f"{path}:{node.lineno}: the code must be a literal"
                yield argument.value


def service_codes(service: str) -> set:
    """The codes one service may answer with: its domain errors, its ApiErrors, and the conventions
    every service shares (the identity rules' reasons, the API's generic codes)."""
    # A service's base class (CertificateError) is never raised itself: only the errors it groups count.
    codes = {c.code for c in domain_error_classes(service) if not c.__subclasses__()}
    codes |= set(_string_args(sorted((ROOT / "backends" / service).glob("*.py")), "ApiError", 1))
    codes |= set(_string_args([ROOT / "backends/shared/identity.py"], "InvalidIdentity", 0))
    return codes | set(GENERIC_CODES)


def test_the_codes_are_found():
    """The introspection sees what it should (a broken walk would make the next test pass on nothing)."""
    assert {"slot_full", "lookup_throttled", "not_found", "no_appointment", "suffix_length", "unauthorized"} \
        <= service_codes("registration")
    assert {"template_unknown", "cohort_invalid", "run_not_found", "cohort_unavailable"} \
        <= service_codes("notifications")


@pytest.mark.parametrize("service", SERVICES)
def test_every_code_has_its_own_response_in_the_domain(service):
    missing = sorted(code for code in service_codes(service) if error_response(service, code) == GENERIC_ERROR_RESPONSE)
    assert missing == [], f"add utter_{service}_error_<code> (or utter_backend_error_<code>) to domain/backend_errors.yml"


def test_the_fallback_and_the_apology_exist():
    assert {GENERIC_ERROR_RESPONSE, "utter_backend_unavailable"} <= domain_response_names()


def test_no_error_response_is_left_for_a_code_nobody_sends():
    codes = {service: service_codes(service) for service in SERVICES}
    shared = set.union(*codes.values())
    stale = []
    for name in domain_response_names():
        match = re.fullmatch(r"utter_(registration|certificate|notifications|backend)_error_(\w+)", name)
        if match is None:
            continue
        known = shared if match[1] == "backend" else codes[match[1]]
        if not any(match[2] == code or match[2].startswith(code + "_") for code in known):
            stale.append(name)
    assert stale == []


@pytest.mark.parametrize("service", SERVICES)
def test_backend_errors_carry_no_words_for_the_user(service):
    for cls in domain_error_classes(service):
        assert not hasattr(cls, "message"), f"{cls.__qualname__}: word it in the domain, send data"
        assert cls.detail and cls.detail.isascii(), f"{cls.__qualname__}: an English detail for developers"


def _raised(call, *args):
    try:
        call(*args)
    except (DomainError, identity.InvalidIdentity) as error:
        return error
    raise AssertionError(f"{call.__name__}{args} raised nothing")


NOW = dt.datetime(2026, 12, 4, 8, 0)
# Real errors from the rules, each with the data its response fills in.
RAISED = [
    ("registration", lambda: _raised(registration.ensure_lookup_allowed, [NOW - dt.timedelta(minutes=m)
                                                                         for m in range(5)], NOW)),
    ("registration", lambda: _raised(registration.normalize_facility, "rs")),
    ("registration", lambda: _raised(registration.normalize_profession, "pilot")),
    ("registration", lambda: _raised(registration.evaluate_screening, {})),
    ("registration", lambda: _raised(identity.parse_nik_suffix, "12345")),
    ("registration", lambda: _raised(identity.parse_nik, "31710553069000")),
    ("registration", lambda: _raised(identity.normalize_name, "r")),
    ("registration", lambda: registration.AlreadyBooked(7)),
    ("certificate", lambda: _raised(certificate.ensure_otp_request_allowed, [NOW] * 3, NOW)),
    ("certificate", lambda: _raised(certificate.ensure_otp_request_allowed, [NOW] * 10, NOW, 10, False)),
    ("certificate", lambda: _raised(certificate.ensure_verification_allowed, [NOW] * 4, NOW)),
    ("certificate", lambda: _raised(certificate.ensure_verification_allowed, [NOW] * 9, NOW)),
    ("certificate", lambda: _raised(certificate.check_otp, certificate.OtpChallengeState(
        "s", "h", NOW + dt.timedelta(minutes=5)), b"k", "000000", NOW)),
    ("certificate", lambda: _raised(certificate.ensure_recovery_allowed, [NOW] * 5, NOW)),
    ("certificate", lambda: certificate.RecoveryFactsMismatch(3)),
    ("certificate", lambda: certificate.DoseNotRecorded(3)),
    ("certificate", lambda: certificate.CertificateNotIssued(1)),
    ("notifications", lambda: _raised(backends.notifications.domain.template, "nope")),
    ("notifications", lambda: _raised(backends.notifications.domain.choose_cohort, "second_dose_due",
                                      dt.date(2026, 12, 4), None, 999)),
]


def _response_texts():
    responses = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses.update((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {})
    return responses


@pytest.mark.parametrize("service, make", RAISED)
def test_the_data_of_an_error_fills_every_value_its_response_names(service, make):
    error = make()
    code = getattr(error, "code", None) or error.reason
    data = error.data
    response = error_response(service, code, data)
    assert response != GENERIC_ERROR_RESPONSE
    texts = [variation["text"] for variation in _response_texts()[response]]
    named = {name for text in texts for name in re.findall(r"{(\w+)}", text)}
    assert named <= set(data), (response, named, data)
