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


def test_lookup_unique_ambiguous_and_unknown(registration):
    base_url, http, _ = registration
    unique = http.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": "90 00-12"}).json()
    assert unique["status"] == "unique"
    target = http.get(f"{base_url}/v1/targets/{unique['target_id']}").json()
    assert target["name"] == "Siti Rahmawati"
    assert target["masked_nik"] == "************0012"
    assert "3171055306900012" not in str(target)

    ambiguous = http.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": "850007"}).json()
    assert ambiguous == {"status": "ambiguous", "target_id": None}
    resolved = http.post(f"{base_url}/v1/targets/lookup",
                         json={"nik_suffix": "850007", "birth_date": "1985-08-07"}).json()
    assert resolved["status"] == "unique"
    assert http.get(f"{base_url}/v1/targets/{resolved['target_id']}").json()["name"] == "Dewi Lestari"
    wrong_birth_date = http.post(f"{base_url}/v1/targets/lookup",
                                 json={"nik_suffix": "850007", "birth_date": "1990-01-01"}).json()
    assert wrong_birth_date["status"] == "none"

    assert http.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": "000001"}).json()["status"] == "none"


@pytest.mark.parametrize("typed, code", [("12345", "suffix_length"), ("abcdef", "suffix_not_digits"),
                                         ("3171055306900012", "suffix_full_nik")])
def test_bad_nik_suffix_gets_specific_indonesian_error(registration, typed, code):
    base_url, http, _ = registration
    response = http.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": typed})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert "digit" in response.json()["error"]["message"] or "angka" in response.json()["error"]["message"]


def test_booking_gives_a_verifiable_ticket_and_is_idempotent(registration):
    base_url, http, _ = registration
    target_id = http.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": "900012"}).json()["target_id"]
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
    target_id = http.post(f"{base_url}/v1/targets/lookup", json={"nik_suffix": "880021"}).json()["target_id"]
    site_id = http.get(f"{base_url}/v1/targets/{target_id}").json()["assigned_site"]["id"]
    slot_id = http.get(f"{base_url}/v1/sites/{site_id}/slots").json()[0]["id"]
    answers = dict(NO_SCREENING_FINDINGS, fever=True)
    response = http.post(f"{base_url}/v1/appointments", json={
        "target_id": target_id, "slot_id": slot_id, "screening_answers": answers, "request_id": _request_id()})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "not_eligible"


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
        lookup = {"nik_suffix": demo.nik[-6:], "birth_date": None}
        if demo.nik[-6:] == "850007":
            lookup["birth_date"] = "1985-03-15"
        target_ids.append(http.post(f"{base_url}/v1/targets/lookup", json=lookup).json()["target_id"])

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
    assert "Vaksin" in response.json()["error"]["message"]
    bad = http.post(f"{base_url}/v1/submissions/check-field", json={"field": "hobby", "value": "x"})
    assert bad.status_code == 422
