"""The registration service over HTTP, on SQLite and on PostgreSQL."""
from __future__ import annotations

import datetime as dt
import random
import threading
import uuid

import pytest
import requests

from backends.registration import MIGRATIONS_DIR, VERSION_TABLE
from backends.registration.api import create_app
from backends.registration.orm import Slot
from backends.registration.seed import DEMO_HEALTH_WORKERS, seed
from backends.shared.clock import today_wib
from backends.shared.database import make_engine, make_session_factory, upgrade_schema
from backends.shared.settings import ServiceSettings

API_KEY = "test-registration-key"
NO_SCREENING_FINDINGS = {key: False for key in (
    "fever", "covid_recent", "pregnant_or_breastfeeding", "blood_pressure", "allergy_previous_dose",
    "chronic_or_autoimmune", "immunosuppressed")}


@pytest.fixture
def registration(database_url, serve_app):
    upgrade_schema(MIGRATIONS_DIR, VERSION_TABLE, database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        seed(session, today_wib(), random.Random(7))
    settings = ServiceSettings(service="registration", database_url=database_url, api_key=API_KEY,
                               signing_key=b"test-signing-key", public_url="http://registration.test",
                               environment="development")
    base_url = serve_app(create_app(settings))
    http = requests.Session()
    http.headers["X-API-Key"] = API_KEY
    yield base_url, http, sessions
    engine.dispose()


def _request_id() -> str:
    return uuid.uuid4().hex


def test_every_call_needs_the_api_key(registration):
    base_url, _, _ = registration
    response = requests.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": "900012"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    wrong = requests.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": "900012"},
                          headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401


def test_health_and_openapi_are_served(registration):
    base_url, _, _ = registration
    assert requests.get(f"{base_url}/health").json() == {"status": "ok", "service": "registration", "database": True}
    spec = requests.get(f"{base_url}/openapi.json").json()
    assert "/v1/appointments" in spec["paths"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


BIRTH_DATES = {"900012": "1990-06-13", "880021": "1988-02-04", "850007": "1985-03-15"}


def _lookup(base_url, http, **body):
    return http.post(f"{base_url}/v1/targets/lookup", json=body)


def _target_id(base_url, http, suffix):
    return _lookup(base_url, http, nik_suffix=suffix, birth_date=BIRTH_DATES[suffix]).json()["target_id"]


def test_digits_alone_say_nothing_not_even_whether_they_exist(registration):
    base_url, http, _ = registration
    answers = [_lookup(base_url, http, nik_suffix=digits).json() for digits in ("90 00-12", "850007", "000001")]
    assert answers == [{"status": "need_second_factor", "target_id": None}] * 3


def test_the_second_factor_identifies_and_names_only_that_person(registration):
    base_url, http, _ = registration
    unique = _lookup(base_url, http, nik_suffix="90 00-12", birth_date="1990-06-13").json()
    assert unique["status"] == "unique"
    target = http.get(f"{base_url}/v1/targets/{unique['target_id']}").json()
    assert target["name"] == "Siti Rahmawati"
    assert target["masked_nik"] == "************0012"
    assert "3171055306900012" not in str(target)
    resolved = _lookup(base_url, http, nik_suffix="850007", birth_date="1985-08-07").json()
    assert resolved["status"] == "unique"
    assert http.get(f"{base_url}/v1/targets/{resolved['target_id']}").json()["name"] == "Dewi Lestari"
    assert _lookup(base_url, http, nik_suffix="850007", birth_date="1990-01-01").json()["status"] == "none"
    # The number WhatsApp verified, when it is the one on the list.
    by_phone = _lookup(base_url, http, nik_suffix="900012", verified_phone="+6281311110001").json()
    assert by_phone == unique
    assert _lookup(base_url, http, nik_suffix="900012", verified_phone="+6281399999999").json() == {
        "status": "unverified", "target_id": None}


def test_shared_digits_and_birth_date_need_the_full_nik(registration):
    base_url, http, sessions = registration
    from backends.registration.orm import Target
    with sessions() as session:
        budi = session.query(Target).filter_by(nik="3273011503850007").one()
        twin = Target(nik="3578011503850007", nik_suffix="850007", name="Bayu Twin", birth_date=budi.birth_date,
                      profession="perawat", facility="RS X", assigned_site_id=budi.assigned_site_id,
                      phone="+6281311119999", regency=budi.regency, province=budi.province)
        session.add(twin)
        session.commit()
    assert _lookup(base_url, http, nik_suffix="850007", birth_date="1985-03-15").json()["status"] == "ambiguous"
    full = _lookup(base_url, http, nik_suffix="850007", birth_date="1985-03-15", full_nik="3578 0115 0385 0007")
    assert http.get(f"{base_url}/v1/targets/{full.json()['target_id']}").json()["name"] == "Bayu Twin"


def test_misses_are_throttled_per_requester_and_logged_masked(registration, caplog):
    base_url, http, _ = registration
    guesses = [_lookup(base_url, http, nik_suffix="900012", birth_date=f"1990-01-{day:02d}",
                       requesters=["conversation:rest:guesser", "client:abc"]) for day in range(1, 8)]
    assert [g.status_code for g in guesses] == [200] * 5 + [429, 429]
    refused = guesses[-1]
    assert refused.json()["error"]["code"] == "lookup_throttled"
    # When to retry, as data and as the HTTP header; the words are the assistant's.
    minutes = refused.json()["error"]["data"]["retry_after_minutes"]
    assert 1 <= minutes <= 60 and int(refused.headers["Retry-After"]) == minutes * 60
    assert "message" not in refused.json()["error"]
    # A miss from the same client under another conversation id is refused too; others are not.
    rotated = _lookup(base_url, http, nik_suffix="900012", birth_date="1990-06-13",
                      requesters=["conversation:rest:new-id", "client:abc"])
    assert rotated.status_code == 429
    owner = _lookup(base_url, http, nik_suffix="900012", birth_date="1990-06-13",
                    requesters=["conversation:rest:owner", "client:other"])
    assert owner.json()["status"] == "unique"


def test_guessing_one_persons_birth_date_from_many_conversations_stops_after_ten(registration):
    base_url, http, _ = registration
    wrong_dates = [f"1990-{month:02d}-{day:02d}" for month in (1, 2) for day in range(1, 8)]
    answers = [_lookup(base_url, http, nik_suffix="900012", birth_date=date,
                       requesters=[f"conversation:rest:rotated-{index}", f"client:rotated-{index}"])
               for index, date in enumerate(wrong_dates)]
    assert [a.status_code for a in answers] == [200] * 10 + [429] * 4
    # Then even the right birth date is refused for a day; the owner's verified WhatsApp number is not.
    right = _lookup(base_url, http, nik_suffix="900012", birth_date="1990-06-13", requesters=["conversation:x:y"])
    assert right.status_code == 429
    owner = _lookup(base_url, http, nik_suffix="900012", verified_phone="+6281311110001",
                    requesters=["conversation:whatsapp:6281311110001"])
    assert owner.json()["status"] == "unique"


def test_no_requester_identity_is_stored_raw(registration):
    base_url, http, sessions = registration
    _lookup(base_url, http, nik_suffix="900012", birth_date="1990-01-01", requesters=["conversation:rest:raw-id"])
    from backends.registration.orm import LookupMiss
    with sessions() as session:
        misses = session.query(LookupMiss).all()
        assert len(misses) == 2  # the conversation, and the digits guessed
        assert all("raw-id" not in m.requester_hash and "900012" not in m.requester_hash
                   and len(m.requester_hash) == 64 for m in misses)


@pytest.mark.parametrize("typed, code, data", [("12345", "suffix_length", {"length": 5}),
                                               ("abcdef", "suffix_not_digits", {}),
                                               ("3171055306900012", "suffix_full_nik", {})])
def test_bad_nik_suffix_gets_a_specific_code_and_no_words(registration, typed, code, data):
    base_url, http, _ = registration
    response = http.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": typed})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == code and error["data"] == data and "message" not in error


def test_booking_gives_a_verifiable_ticket_and_is_idempotent(registration):
    base_url, http, _ = registration
    target_id = _target_id(base_url, http, "900012")
    site_id = http.get(f"{base_url}/v1/targets/{target_id}").json()["assigned_site"]["id"]
    slots = http.get(f"{base_url}/v1/sites/{site_id}/slots").json()
    assert 1 <= len(slots) <= 5
    assert all(dt.date.fromisoformat(s["date"]) > today_wib() for s in slots)
    body = {"target_id": target_id, "slot_id": slots[0]["id"], "screening_answers": NO_SCREENING_FINDINGS,
            "request_id": _request_id()}
    first = http.post(f"{base_url}/v1/appointments", json=body)
    assert first.status_code == 201, first.text
    replay = http.post(f"{base_url}/v1/appointments", json=body)
    assert replay.json()["id"] == first.json()["id"]

    appointment = first.json()
    assert appointment["masked_nik"] == "************0012"
    verified = http.get(f"{base_url}/v1/tickets/verify", params={"code": appointment["ticket_code"]}).json()
    assert verified["valid"] is True and verified["appointment"]["id"] == appointment["id"]
    image = requests.get(f"{base_url}/v1/tickets/qr.png", params={"code": appointment["ticket_code"]})
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    tampered = appointment["ticket_code"][:-2] + ("AA" if not appointment["ticket_code"].endswith("AA") else "BB")
    assert http.get(f"{base_url}/v1/tickets/verify", params={"code": tampered}).status_code == 404

    second_booking = dict(body, slot_id=slots[1]["id"], request_id=_request_id())
    again = http.post(f"{base_url}/v1/appointments", json=second_booking)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_booked"
    assert http.get(f"{base_url}/v1/targets/{target_id}/appointment").json()["id"] == appointment["id"]


def test_postponed_screening_cannot_book(registration):
    base_url, http, _ = registration
    target_id = _target_id(base_url, http, "880021")
    site_id = http.get(f"{base_url}/v1/targets/{target_id}").json()["assigned_site"]["id"]
    slot_id = http.get(f"{base_url}/v1/sites/{site_id}/slots").json()[0]["id"]
    answers = dict(NO_SCREENING_FINDINGS, fever=True)
    response = http.post(f"{base_url}/v1/appointments", json={
        "target_id": target_id, "slot_id": slot_id, "screening_answers": answers, "request_id": _request_id()})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_eligible"
    assert response.json()["error"]["data"] == {"reasons": ["fever"]}


def test_two_bookings_racing_for_the_last_place_exactly_one_wins(registration):
    base_url, http, sessions = registration
    site_id = http.get(f"{base_url}/v1/sites").json()[0]["id"]
    slot_id = http.get(f"{base_url}/v1/sites/{site_id}/slots").json()[0]["id"]
    with sessions() as session:
        slot = session.get(Slot, slot_id)
        slot.booked = slot.capacity - 1
        session.commit()
    target_ids = []
    for demo in DEMO_HEALTH_WORKERS[:2]:
        target_ids.append(_target_id(base_url, http, demo.nik[-6:]))

    barrier = threading.Barrier(len(target_ids))
    results = []

    def book(target_id: int) -> None:
        body = {"target_id": target_id, "slot_id": slot_id, "screening_answers": NO_SCREENING_FINDINGS,
                "request_id": _request_id()}
        barrier.wait()
        results.append(requests.post(f"{base_url}/v1/appointments", json=body, headers={"X-API-Key": API_KEY}))

    threads = [threading.Thread(target=book, args=(t,)) for t in target_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409], [r.text for r in results]
    assert [r.json()["error"]["code"] for r in results if r.status_code == 409] == ["slot_full"]
    with sessions() as session:
        slot = session.get(Slot, slot_id)
        assert slot.booked == slot.capacity


def test_missing_health_worker_submission(registration):
    base_url, http, _ = registration
    body = {"nik": "3171016501920003", "name": "Rini  Marlina", "profession": "Bidan",
            "facility": "Klinik Pratama Sehat", "phone": "0812-3456-7890", "request_id": _request_id()}
    created = http.post(f"{base_url}/v1/submissions", json=body)
    assert created.status_code == 201, created.text
    reference = created.json()["reference"]
    assert reference.startswith("NKS-") and created.json()["status"] == "pending"
    assert http.post(f"{base_url}/v1/submissions", json=body).json()["reference"] == reference
    status = http.get(f"{base_url}/v1/submissions/{reference.lower()}").json()
    assert status["status"] == "pending"

    bad_nik = http.post(f"{base_url}/v1/submissions", json=dict(body, nik="9971016501920003", request_id=_request_id()))
    assert bad_nik.status_code == 422 and bad_nik.json()["error"]["code"] == "nik_province"
    bad_name = http.post(f"{base_url}/v1/submissions", json=dict(body, name="R1n1", request_id=_request_id()))
    assert bad_name.json()["error"]["code"] == "name_characters"
    assert http.get(f"{base_url}/v1/submissions/NKS-ZZZZZZZZ").status_code == 404


@pytest.mark.parametrize("field, value, expected", [
    ("nik", "3171 0165 0192 0003", "3171016501920003"), ("name", " rini   Marlina ", "rini Marlina"),
    ("profession", "Drg", "dokter gigi"), ("facility", " Klinik  Sehat ", "Klinik Sehat"),
    ("phone", "0812-3456-7890", "+6281234567890"),
])
def test_submission_fields_are_checked_one_by_one(registration, field, value, expected):
    base_url, http, _ = registration
    response = http.post(f"{base_url}/v1/submissions/check-field", json={"field": field, "value": value})
    assert response.status_code == 200, response.text
    assert response.json() == {"value": expected}


def test_a_listed_nik_is_not_submitted_again(registration):
    base_url, http, _ = registration
    response = http.post(f"{base_url}/v1/submissions/check-field", json={"field": "nik", "value": "3171055306900012"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "nik_already_listed"
    assert "message" not in response.json()["error"]
    bad = http.post(f"{base_url}/v1/submissions/check-field", json={"field": "hobby", "value": "x"})
    assert bad.status_code == 422
    assert bad.json()["error"]["data"] == {"field": "hobby", "reason": "unknown_field"}
    short = http.post(f"{base_url}/v1/submissions/check-field", json={"field": "facility", "value": " RS "})
    assert short.status_code == 422 and short.json()["error"]["code"] == "field_invalid"
    assert short.json()["error"]["data"] == {"field": "facility", "reason": "length", "min": 3, "max": 200}
    unknown = http.post(f"{base_url}/v1/submissions/check-field", json={"field": "profession", "value": "pilot"})
    assert unknown.json()["error"]["code"] == "profession_unknown"
    assert unknown.json()["error"]["data"]["professions"][-1] == "tenaga kesehatan lainnya"


def test_the_screening_is_answered_with_codes_and_figures(registration):
    base_url, http, _ = registration
    questions = http.get(f"{base_url}/v1/screening/questions").json()
    assert [q["key"] for q in questions][:2] == ["fever", "covid_recent"]
    assert all(set(q) == {"key", "outcome_if_yes", "advice"} for q in questions)  # the bot words the questions
    answers = dict(NO_SCREENING_FINDINGS, covid_recent=True, chronic_or_autoimmune=True)
    result = http.post(f"{base_url}/v1/screening/evaluate", json={"answers": answers}).json()
    assert result == {"outcome": "postponed", "may_book": False, "reasons": ["covid_recent"],
                      "advice": [{"code": "postpone_after_covid", "data": {"months": 3}}]}
    consult = http.post(f"{base_url}/v1/screening/evaluate",
                        json={"answers": dict(NO_SCREENING_FINDINGS, immunosuppressed=True)}).json()
    assert (consult["outcome"], consult["may_book"]) == ("consult_doctor", True)
    assert consult["advice"] == [{"code": "treating_doctor_or_site", "data": {}}]
