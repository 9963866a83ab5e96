"""Rules of the certificate service with an injected clock: OTP policy, sessions, doses, claims."""
from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from backends.certificate import domain
from backends.shared.signing import keyed_hash

KEY = b"unit-test-key"
T0 = dt.datetime(2021, 7, 12, 9, 0, 0)


def _minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def _challenge(now: dt.datetime = T0):
    issued = domain.issue_otp(KEY, now)
    state = domain.OtpChallengeState(salt=issued.salt, code_hash=issued.code_hash, expires_at=issued.expires_at)
    return issued, state


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


# --- Doses and dates ------------------------------------------------------------------------------

def test_dose_labels():
    assert [domain.dose_label(d) for d in (1, 2, 3)] == ["Dosis 1", "Dosis 2", "Booster"]
    with pytest.raises(domain.UnknownDose) as error:
        domain.dose_label(4)
    assert (error.value.code, error.value.status) == ("dose_unknown", 422)


def test_dates_are_written_the_indonesian_way():
    assert domain.format_date_id(dt.date(2021, 7, 12)) == "12 Juli 2021"
    assert domain.format_date_id(dt.date(2022, 2, 1)) == "1 Februari 2022"


# --- Issuing codes --------------------------------------------------------------------------------

def test_codes_are_six_digits_and_stored_only_as_a_keyed_hash():
    issued = [domain.issue_otp(KEY, T0) for _ in range(200)]
    assert all(re.fullmatch(r"\d{6}", otp.code) for otp in issued)
    assert len({otp.code for otp in issued}) > 150  # drawn at random, not a counter
    for otp in issued[:20]:
        assert otp.code not in otp.code_hash
        assert otp.code_hash == keyed_hash(KEY, otp.salt, otp.code)
        assert otp.expires_at == T0 + _minutes(5)
    assert len({otp.salt for otp in issued}) == len(issued)


def test_the_same_code_hashes_differently_under_each_salt_and_key():
    assert domain.hash_otp(KEY, "salt-a", "123456") != domain.hash_otp(KEY, "salt-b", "123456")
    assert domain.hash_otp(KEY, "salt-a", "123456") != domain.hash_otp(b"other", "salt-a", "123456")


# --- Checking codes -------------------------------------------------------------------------------

def test_a_code_is_valid_for_five_minutes():
    issued, state = _challenge()
    domain.check_otp(state, KEY, issued.code, T0 + _minutes(4.99))
    assert state.consumed_at == T0 + _minutes(4.99)

    issued, state = _challenge()
    with pytest.raises(domain.OtpExpired) as error:
        domain.check_otp(state, KEY, issued.code, T0 + _minutes(5))
    assert error.value.status == 401 and error.value.code == "otp_expired"


def test_a_code_works_only_once():
    issued, state = _challenge()
    domain.check_otp(state, KEY, issued.code, T0 + _minutes(1))
    with pytest.raises(domain.OtpExpired):
        domain.check_otp(state, KEY, issued.code, T0 + _minutes(2))


def test_spaces_typed_inside_the_code_are_ignored():
    issued, state = _challenge()
    domain.check_otp(state, KEY, f" {issued.code[:3]} {issued.code[3:]} ", T0)


def test_five_wrong_attempts_kill_the_code():
    issued, state = _challenge()
    for remaining in (4, 3, 2, 1):
        with pytest.raises(domain.OtpWrong) as error:
            domain.check_otp(state, KEY, _wrong(issued.code), T0 + _minutes(1))
        assert error.value.remaining == remaining
        assert error.value.data == {"remaining": remaining}
    with pytest.raises(domain.OtpAttemptsExhausted):
        domain.check_otp(state, KEY, _wrong(issued.code), T0 + _minutes(1))
    # Even the right code is refused now: the user has to ask for a new one.
    with pytest.raises(domain.OtpAttemptsExhausted) as error:
        domain.check_otp(state, KEY, issued.code, T0 + _minutes(1))
    assert error.value.code == "otp_attempts_exhausted"
    assert state.consumed_at is None and state.attempts == domain.OTP_MAX_ATTEMPTS


def test_the_right_code_after_a_typo_is_accepted():
    issued, state = _challenge()
    with pytest.raises(domain.OtpWrong):
        domain.check_otp(state, KEY, _wrong(issued.code), T0)
    domain.check_otp(state, KEY, issued.code, T0 + _minutes(1))
    assert state.attempts == 1 and state.consumed_at is not None


# --- Request rate limit ---------------------------------------------------------------------------

def test_three_codes_per_rolling_hour_then_minutes_to_wait():
    requests = [T0, T0 + _minutes(10), T0 + _minutes(20)]
    domain.ensure_otp_request_allowed(requests[:2], T0 + _minutes(20))
    with pytest.raises(domain.TooManyOtpRequests) as error:
        domain.ensure_otp_request_allowed(requests, T0 + _minutes(30))
    assert error.value.minutes == 30
    assert error.value.status == 429
    assert error.value.data == {"retry_after_minutes": 30, "reason": "own", "limit": 3}
    with pytest.raises(domain.TooManyOtpRequests) as error:
        domain.ensure_otp_request_allowed(requests, T0 + _minutes(59.5))
    assert error.value.minutes == 1  # rounded up, never "0 menit"
    domain.ensure_otp_request_allowed(requests, T0 + _minutes(60))


# --- Growing delay after failures -----------------------------------------------------------------

def _failures(count: int, last: dt.datetime, spacing: dt.timedelta = dt.timedelta(seconds=1)):
    return [last - spacing * i for i in range(count)]


@pytest.mark.parametrize("failures, wait_seconds", [(0, 0), (2, 0), (3, 30), (4, 60), (5, 120), (6, 240),
                                                    (7, 480), (8, 900), (30, 900)])
def test_the_delay_doubles_after_three_failures_and_is_capped(failures, wait_seconds):
    delay = domain.verification_delay(_failures(failures, T0), T0)
    assert delay == dt.timedelta(seconds=wait_seconds)


def test_the_delay_counts_from_the_last_failure():
    failures = _failures(4, T0)
    assert domain.verification_delay(failures, T0 + dt.timedelta(seconds=45)) == dt.timedelta(seconds=15)
    domain.ensure_verification_allowed(failures, T0 + dt.timedelta(seconds=60))
    with pytest.raises(domain.VerificationTooSoon) as error:
        domain.ensure_verification_allowed(failures, T0 + dt.timedelta(seconds=50))
    assert error.value.seconds == 10
    assert error.value.data == {"retry_after_seconds": 10, "retry_after_minutes": 1, "reason": "seconds"}
    assert error.value.status == 429


def test_there_is_no_permanent_lockout():
    many = _failures(200, T0, spacing=dt.timedelta(seconds=10))
    assert domain.verification_delay(many, T0) <= domain.FAILURE_DELAY_CAP
    domain.ensure_verification_allowed(many, T0 + domain.FAILURE_DELAY_CAP)
    # Failures older than an hour no longer count at all.
    assert domain.verification_delay(many, T0 + _minutes(61)) == dt.timedelta(0)


def test_long_waits_are_shown_in_minutes():
    with pytest.raises(domain.VerificationTooSoon) as error:
        domain.ensure_verification_allowed(_failures(10, T0), T0)
    assert error.value.data["retry_after_minutes"] == 15 and error.value.data["reason"] == "minutes"


# --- Verification sessions ------------------------------------------------------------------------

def test_session_tokens_are_random_and_hashed():
    tokens = {domain.issue_session_token() for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) >= 43 for t in tokens)
    token = tokens.pop()
    assert domain.hash_session_token(KEY, token) != token
    assert domain.hash_session_token(KEY, token) == domain.hash_session_token(KEY, token)


def test_a_session_expires_after_fifteen_idle_minutes():
    state = domain.SessionState(last_seen_at=T0)
    domain.touch_session(state, T0 + _minutes(14.9))
    with pytest.raises(domain.SessionInvalid) as error:
        domain.touch_session(state, T0 + _minutes(14.9) + _minutes(15))
    assert error.value.status == 401 and error.value.code == "session_invalid"


def test_each_use_extends_the_session():
    state = domain.SessionState(last_seen_at=T0)
    for step in range(1, 9):
        domain.touch_session(state, T0 + _minutes(10 * step))
    assert state.last_seen_at == T0 + _minutes(80)


def test_a_revoked_session_is_refused():
    with pytest.raises(domain.SessionInvalid):
        domain.touch_session(domain.SessionState(last_seen_at=T0, revoked=True), T0)


# --- Certificates and claims ----------------------------------------------------------------------

def test_certificate_numbers_and_references():
    assert re.fullmatch(r"PL-[A-HJ-NP-Z2-9]{8}", domain.new_certificate_number())
    assert re.fullmatch(r"ESK-[A-HJ-NP-Z2-9]{8}", domain.new_escalation_reference())
    assert domain.new_certificate_number(random.Random(5)) == domain.new_certificate_number(random.Random(5))


def test_the_qr_carries_the_masked_nik_only():
    claims = domain.qr_claims("PL-ABCDEFGH", 3, dt.date(2022, 2, 21), "3174054508900003")
    assert claims["nik"] == "************0003"
    assert "3174054508900003" not in str(claims)
    assert domain.read_qr_claims(claims) is claims


def test_qr_payloads_and_download_links_are_not_interchangeable():
    qr = domain.qr_claims("PL-ABCDEFGH", 1, dt.date(2021, 7, 12), "3174054508900003")
    link = domain.download_claims("PL-ABCDEFGH")
    assert domain.read_download_claims(link) == "PL-ABCDEFGH"
    with pytest.raises(domain.LinkInvalid):
        domain.read_download_claims(qr)
    with pytest.raises(domain.CertificateInvalid):
        domain.read_qr_claims(link)


def test_names_typed_in_one_case_are_tidied():
    assert domain.tidy_name_case("RINA WULANDARI") == "Rina Wulandari"
    assert domain.tidy_name_case("muhammad al-fatih") == "Muhammad Al-Fatih"
    assert domain.tidy_name_case("Ni Luh Putu deWi") == "Ni Luh Putu deWi"


def test_every_error_has_a_code_data_and_a_status_but_no_words_for_the_user():
    errors = [domain.OtpExpired(), domain.OtpWrong(2), domain.OtpAttemptsExhausted(), domain.TooManyOtpRequests(5),
              domain.VerificationTooSoon(30), domain.SessionRequired(), domain.SessionInvalid(),
              domain.DoseNotRecorded(2), domain.CertificateNotIssued(1), domain.LinkInvalid(),
              domain.NameUnchanged(), domain.PhoneInUse(), domain.SmsUnavailable(),
              domain.RecoveryFactsMismatch(4), domain.RecoveryThrottled(90), domain.RecoveryTicketInvalid()]
    for error in errors:
        assert re.fullmatch(r"[a-z_]+", error.code)
        assert 400 <= error.status < 600
        assert not hasattr(error, "message") and error.detail.isascii()
    assert domain.DoseNotRecorded(2).data == {"dose": 2, "dose_label": "Dosis 2"}
    assert domain.RecoveryThrottled(90).data == {"retry_after_minutes": 90, "retry_after_hours": 2}


# --- Recovering an account whose number is lost ---------------------------------------------------

@pytest.mark.parametrize("typed", ["Rina Wulandari", "RINA WULANDARI", "rina  wulandari", " Rina Wulandari. ",
                                   "rina-wulandari"])
def test_a_name_matches_however_it_is_cased_spaced_or_punctuated(typed):
    assert domain.facts_match(dt.date(1990, 6, 13), "Rina Wulandari", dt.date(1990, 6, 13), typed)


@pytest.mark.parametrize("born, typed", [(dt.date(1990, 6, 14), "Rina Wulandari"),
                                         (dt.date(1990, 6, 13), "Rina Wulandar"),
                                         (dt.date(1990, 6, 13), "Rina"),
                                         (dt.date(1990, 6, 13), ""),
                                         (dt.date(1990, 6, 13), "Wulandari Rina")])
def test_any_other_date_or_name_does_not_match(born, typed):
    assert not domain.facts_match(dt.date(1990, 6, 13), "Rina Wulandari", born, typed)


def test_five_failed_checks_a_day_then_hours_to_wait():
    failures = [T0 + _minutes(10 * i) for i in range(4)]
    assert domain.ensure_recovery_allowed(failures, T0 + _minutes(40)) == 1
    failures.append(T0 + _minutes(40))
    with pytest.raises(domain.RecoveryThrottled) as error:
        domain.ensure_recovery_allowed(failures, T0 + _minutes(50))
    assert error.value.data["retry_after_minutes"] == 24 * 60 - 50
    assert domain.ensure_recovery_allowed(failures, T0 + dt.timedelta(hours=24)) == 1


def test_a_recovery_ticket_is_not_any_other_signed_claim():
    assert domain.read_recovery_ticket_claims(domain.recovery_ticket_claims(7)) == 7
    for claims in (domain.download_claims("PL-ABCDEFGH"), {"typ": "pl-recovery", "pid": "7"}, {}):
        with pytest.raises(domain.RecoveryTicketInvalid):
            domain.read_recovery_ticket_claims(claims)


@pytest.mark.parametrize("start, days, expected", [
    (dt.date(2026, 12, 4), 3, dt.date(2026, 12, 9)),    # Friday -> Wednesday
    (dt.date(2026, 12, 7), 3, dt.date(2026, 12, 10)),   # Monday -> Thursday
    (dt.date(2026, 12, 5), 3, dt.date(2026, 12, 9)),    # Saturday -> Wednesday
])
def test_the_decision_is_expected_within_working_days(start, days, expected):
    assert domain.add_working_days(start, days) == expected


def test_recovery_references():
    assert re.fullmatch(r"REC-[A-HJ-NP-Z2-9]{8}", domain.new_recovery_reference())
    assert domain.recovery_decision("approve") == "approved"
    with pytest.raises(domain.UnknownRecoveryDecision):
        domain.recovery_decision("maybe")
