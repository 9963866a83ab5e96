import datetime as dt

import pytest

from backends.registration import domain

NO_FINDINGS = {key: False for key in domain.SCREENING_KEYS}


def _candidates():
    born_a, born_b = dt.date(1985, 3, 15), dt.date(1985, 8, 7)
    return [domain.Candidate(1, born_a, "+6281300000001", "3273011503850007"),
            domain.Candidate(2, born_b, "+6281300000002", "3578024708850007"),
            domain.Candidate(3, born_a, "+6281300000003", "3578011503850007")]


def test_digits_alone_never_identify_anyone():
    for candidates in ([], _candidates()[:1], _candidates()):
        assert domain.match_target(candidates, domain.SecondFactor()) == domain.TargetMatch("need_second_factor")


def test_the_birth_date_then_the_full_nik_decide_between_people_with_the_same_digits():
    candidates = _candidates()
    by_birth = lambda born, nik=None: domain.match_target(candidates, domain.SecondFactor(birth_date=born,  # noqa: E731
                                                                                             full_nik=nik))
    assert by_birth(dt.date(1985, 8, 7)) == domain.TargetMatch("unique", 2)
    assert by_birth(dt.date(1985, 3, 15)) == domain.TargetMatch("ambiguous")
    assert by_birth(dt.date(1985, 3, 15), "3578011503850007") == domain.TargetMatch("unique", 3)
    assert by_birth(dt.date(1985, 3, 15), "3578024708850007") == domain.TargetMatch("none")
    assert by_birth(dt.date(1990, 1, 1)) == domain.TargetMatch("none")
    assert by_birth(dt.date(1990, 1, 1)).is_miss


def test_a_verified_number_identifies_only_its_owner_and_a_mismatch_is_no_miss():
    candidates = _candidates()
    assert domain.match_target(candidates, domain.SecondFactor("+6281300000002")) == domain.TargetMatch("unique", 2)
    other = domain.match_target(candidates, domain.SecondFactor("+6281399999999"))
    assert other == domain.TargetMatch("unverified") and not other.is_miss


def test_lookups_are_refused_after_a_few_misses_in_an_hour():
    now = dt.datetime(2026, 12, 3, 12, 0)
    misses = [now - dt.timedelta(minutes=m) for m in (50, 40, 30, 20)]
    domain.ensure_lookup_allowed(misses, now)
    with pytest.raises(domain.TooManyLookups) as refused:
        domain.ensure_lookup_allowed(misses + [now - dt.timedelta(minutes=1)], now)
    assert refused.value.minutes == 10
    domain.ensure_lookup_allowed(misses + [now - dt.timedelta(minutes=61)], now)


def test_screening_without_findings_is_eligible():
    result = domain.evaluate_screening(NO_FINDINGS)
    assert result.outcome == "eligible" and result.may_book


@pytest.mark.parametrize("finding", ["fever", "covid_recent", "blood_pressure"])
def test_findings_that_postpone(finding):
    result = domain.evaluate_screening(dict(NO_FINDINGS, **{finding: True}))
    assert result.outcome == "postponed" and not result.may_book
    assert result.reasons == (finding,) and result.advice


@pytest.mark.parametrize("finding", ["pregnant_or_breastfeeding", "allergy_previous_dose", "chronic_or_autoimmune",
                                     "immunosuppressed"])
def test_findings_for_the_doctor_at_the_site(finding):
    result = domain.evaluate_screening(dict(NO_FINDINGS, **{finding: True}))
    assert result.outcome == "consult_doctor" and result.may_book


def test_postponement_wins_over_consultation():
    result = domain.evaluate_screening(dict(NO_FINDINGS, fever=True, chronic_or_autoimmune=True))
    assert result.outcome == "postponed" and result.reasons == ("fever",)


def test_incomplete_screening_is_refused():
    with pytest.raises(domain.DomainError):
        domain.evaluate_screening({"fever": False})


def test_offerable_slots_are_future_open_and_ordered():
    today = dt.date(2021, 3, 1)
    slots = [
        domain.SlotView(1, dt.date(2021, 3, 3), "siang", 10, 0),
        domain.SlotView(2, dt.date(2021, 3, 3), "pagi", 10, 10),   # full
        domain.SlotView(3, dt.date(2021, 3, 1), "pagi", 10, 0),    # today: too late to book
        domain.SlotView(4, dt.date(2021, 3, 2), "siang", 10, 3),
        domain.SlotView(5, dt.date(2021, 3, 2), "pagi", 10, 9),
    ] + [domain.SlotView(10 + i, dt.date(2021, 3, 10 + i), "pagi", 5, 0) for i in range(5)]
    offered = domain.offerable_slots(slots, today)
    assert [s.id for s in offered] == [5, 4, 1, 10, 11]


def test_submission_references_are_unambiguous():
    references = {domain.new_submission_reference() for _ in range(200)}
    assert len(references) == 200
    assert all(r.startswith("NKS-") and len(r) == 12 and not set(r[4:]) & set("01IO") for r in references)


@pytest.mark.parametrize("typed, expected", [("Bidan", "bidan"), ("drg", "dokter gigi"), ("  Perawat ", "perawat"),
                                             ("lainnya", "tenaga kesehatan lainnya")])
def test_professions(typed, expected):
    assert domain.normalize_profession(typed) == expected


def test_unknown_profession():
    with pytest.raises(domain.UnknownProfession):
        domain.normalize_profession("pilot")
