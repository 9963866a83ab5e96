"""The certificate service over HTTP, on SQLite and on PostgreSQL (fixtures in conftest.py)."""
from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
import random
import re
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests
from PIL import Image
from sqlalchemy import func, select

from backends.certificate import MIGRATIONS_DIR, VERSION_TABLE, services
from backends.certificate.api import create_app
from backends.certificate.orm import AuditEntry, Certificate, OtpChallenge, OtpRequest, Person, VerificationSession
from backends.certificate.seed import DEMO_PERSONS, seed
from backends.shared.clock import today_wib, utcnow
from backends.shared.database import make_engine, make_session_factory, upgrade_schema
from backends.shared.identity import normalize_phone, parse_nik
from backends.shared.settings import ServiceSettings

API_KEY = "test-certificate-key"
OFFICER_KEY = "test-certificate-officer-key"
SIGNING_KEY = b"test-certificate-signing-key"
PUBLIC_URL = "http://certificate.test"
THREE_DOSES, TWO_DOSES, ONE_DOSE_NO_CERTIFICATE, NO_DOSES = DEMO_PERSONS
UNREGISTERED_PHONE = "+6285712345678"  # outside both demo (+62811) and random (+62812) ranges


@pytest.fixture
def certificate(database_url, serve_app):
    upgrade_schema(MIGRATIONS_DIR, VERSION_TABLE, database_url)
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions() as session:
        seed(session, today_wib(), random.Random(7), count=20)
    settings = ServiceSettings(service="certificate", database_url=database_url, api_key=API_KEY,
                               signing_key=SIGNING_KEY, public_url=PUBLIC_URL, environment="development",
                               officer_api_key=OFFICER_KEY)
    app = create_app(settings)
    base_url = serve_app(app)
    http = requests.Session()
    http.headers["X-API-Key"] = API_KEY
    yield base_url, http, sessions, app
    engine.dispose()


def _outbox(base_url: str, http: requests.Session, phone: str) -> list:
    response = http.get(f"{base_url}/dev/outbox", params={"phone": phone})
    assert response.status_code == 200
    return response.json()


def _latest_code(base_url: str, http: requests.Session, phone: str) -> str:
    return re.search(r"\b(\d{6})\b", _outbox(base_url, http, phone)[-1]["text"]).group(1)


def _login(base_url: str, http: requests.Session, phone: str) -> dict:
    assert http.post(f"{base_url}/v1/otp/request", json={"phone": phone}).status_code == 202
    code = _latest_code(base_url, http, phone)
    verified = http.post(f"{base_url}/v1/otp/verify", json={"phone": phone, "code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["expires_in_seconds"] == 900
    return {"X-Session-Token": verified.json()["token"]}


def _local(url: str, base_url: str) -> str:
    """Links carry the public URL; the test server listens elsewhere."""
    assert url.startswith(PUBLIC_URL + "/")
    parts = urlsplit(url)
    return f"{base_url}{parts.path}?{parts.query}"


def _error(response: requests.Response) -> dict:
    return response.json()["error"]


# --- Access ----------------------------------------------------------------------------------------

def test_every_v1_call_needs_the_api_key(certificate):
    base_url, _, _, _ = certificate
    for response in (requests.post(f"{base_url}/v1/otp/request", json={"phone": THREE_DOSES.phone}),
                     requests.get(f"{base_url}/v1/me", headers={"X-API-Key": "wrong"}),
                     requests.get(f"{base_url}/v1/certificates/verify", params={"payload": "x.y"})):
        assert response.status_code == 401
        assert _error(response)["code"] == "unauthorized" and "message" not in _error(response)


def test_health_and_openapi_are_served(certificate):
    base_url, _, _, _ = certificate
    assert requests.get(f"{base_url}/health").json() == {"status": "ok", "service": "certificate", "database": True}
    spec = requests.get(f"{base_url}/openapi.json").json()
    for path in ("/v1/otp/request", "/v1/otp/verify", "/v1/me", "/v1/me/vaccinations", "/v1/me/name",
                 "/v1/me/certificates/{dose}/link", "/v1/certificates/download", "/v1/certificates/verify"):
        assert path in spec["paths"], path
    assert spec["components"]["securitySchemes"]["SessionToken"]["name"] == "X-Session-Token"
    assert "security" not in spec["paths"]["/v1/certificates/download"]["get"]
    assert spec["paths"]["/v1/me"]["get"]["security"]


def test_me_needs_a_verified_session(certificate):
    base_url, http, _, _ = certificate
    missing = http.get(f"{base_url}/v1/me")
    assert missing.status_code == 401 and _error(missing)["code"] == "session_required"
    forged = http.get(f"{base_url}/v1/me", headers={"X-Session-Token": "not-a-token"})
    assert forged.status_code == 401 and _error(forged)["code"] == "session_invalid"
    assert "message" not in _error(forged) and _error(forged)["detail"].isascii()


# --- OTP login ------------------------------------------------------------------------------------

def test_otp_request_answers_the_same_for_unknown_numbers(certificate):
    base_url, http, sessions, _ = certificate
    known = http.post(f"{base_url}/v1/otp/request", json={"phone": "0811-1000-0001"})
    unknown = http.post(f"{base_url}/v1/otp/request", json={"phone": UNREGISTERED_PHONE})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.json() == {"expires_in_seconds": 300}

    messages = _outbox(base_url, http, THREE_DOSES.phone)
    assert len(messages) == 1 and messages[0]["phone"] == THREE_DOSES.phone
    assert re.search(r"\b\d{6}\b", messages[0]["text"])
    assert _outbox(base_url, http, UNREGISTERED_PHONE) == []
    with sessions() as session:  # neither the code nor any number typed is stored
        code = _latest_code(base_url, http, THREE_DOSES.phone)
        stored = session.execute(select(OtpChallenge)).scalars().all()
        assert len(stored) == 2
        for row in stored:
            assert code not in (row.code_hash, row.salt)
            assert len(row.phone_key) == 64 and not any(
                digits in row.phone_key for digits in (THREE_DOSES.phone[3:], UNREGISTERED_PHONE[3:]))


def test_invalid_phone_is_refused_with_the_rule_s_code(certificate):
    base_url, http, _, _ = certificate
    response = http.post(f"{base_url}/v1/otp/request", json={"phone": "12345"})
    assert response.status_code == 422
    assert _error(response)["code"].startswith("phone_")
    assert "message" not in _error(response)


def test_login_with_the_code_from_the_sms(certificate):
    base_url, http, sessions, _ = certificate
    headers = _login(base_url, http, THREE_DOSES.phone)
    me = http.get(f"{base_url}/v1/me", headers=headers).json()
    assert me == {"nik_masked": "************0003", "name": THREE_DOSES.name, "phone_masked": "+62811*****001"}
    with sessions() as session:  # only the hash of the token is kept
        token = headers["X-Session-Token"]
        assert session.execute(select(func.count()).select_from(VerificationSession)
                               .where(VerificationSession.token_hash == token)).scalar_one() == 0


def test_a_wrong_code_is_refused_and_the_right_one_still_works(certificate):
    base_url, http, _, _ = certificate
    http.post(f"{base_url}/v1/otp/request", json={"phone": TWO_DOSES.phone})
    code = _latest_code(base_url, http, TWO_DOSES.phone)
    wrong = http.post(f"{base_url}/v1/otp/verify", json={"phone": TWO_DOSES.phone,
                                                         "code": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert wrong.status_code == 401
    assert _error(wrong)["code"] == "otp_wrong" and _error(wrong)["data"] == {"remaining": 4}
    right = http.post(f"{base_url}/v1/otp/verify", json={"phone": TWO_DOSES.phone, "code": code})
    assert right.status_code == 200
    reused = http.post(f"{base_url}/v1/otp/verify", json={"phone": TWO_DOSES.phone, "code": code})
    assert reused.status_code == 401 and _error(reused)["code"] == "otp_expired"


def test_unknown_numbers_fail_verification_like_known_ones(certificate):
    base_url, http, _, _ = certificate
    http.post(f"{base_url}/v1/otp/request", json={"phone": UNREGISTERED_PHONE})
    response = http.post(f"{base_url}/v1/otp/verify", json={"phone": UNREGISTERED_PHONE, "code": "123456"})
    assert response.status_code == 401 and _error(response)["code"] == "otp_wrong"


def test_the_fourth_code_within_an_hour_is_refused(certificate):
    base_url, http, _, _ = certificate
    for _ in range(3):
        assert http.post(f"{base_url}/v1/otp/request", json={"phone": NO_DOSES.phone}).status_code == 202
    fourth = http.post(f"{base_url}/v1/otp/request", json={"phone": NO_DOSES.phone})
    assert fourth.status_code == 429
    assert _error(fourth)["code"] == "otp_rate_limited"
    assert _error(fourth)["data"]["reason"] == "own" and 1 <= _error(fourth)["data"]["retry_after_minutes"] <= 60
    assert len(_outbox(base_url, http, NO_DOSES.phone)) == 3


# --- Vaccinations and certificates ----------------------------------------------------------------

def test_vaccination_status_lists_every_dose(certificate):
    base_url, http, _, _ = certificate
    doses = http.get(f"{base_url}/v1/me/vaccinations", headers=_login(base_url, http, THREE_DOSES.phone)).json()
    assert [(d["dose"], d["label"], d["certificate_issued"]) for d in doses["doses"]] == [
        (1, "Dosis 1", True), (2, "Dosis 2", True), (3, "Booster", True)]
    assert doses["doses"][2] == {"dose": 3, "label": "Booster", "date": "2022-02-21", "brand": "Pfizer",
                                 "site": "RSUD Cengkareng", "certificate_issued": True}

    pending = http.get(f"{base_url}/v1/me/vaccinations",
                       headers=_login(base_url, http, ONE_DOSE_NO_CERTIFICATE.phone)).json()
    assert [(d["dose"], d["certificate_issued"]) for d in pending["doses"]] == [(1, False)]


def test_certificate_link_downloads_a_png_without_the_api_key(certificate):
    base_url, http, _, _ = certificate
    link = http.post(f"{base_url}/v1/me/certificates/3/link", headers=_login(base_url, http, THREE_DOSES.phone))
    assert link.status_code == 200, link.text
    url = link.json()["url"]
    assert url.startswith(f"{PUBLIC_URL}/v1/certificates/download?token=")
    expires_at = dt.datetime.fromisoformat(link.json()["expires_at"].replace("Z", "+00:00"))
    assert dt.timedelta(minutes=9) < expires_at - dt.datetime.now(dt.timezone.utc) <= dt.timedelta(minutes=10)

    download = requests.get(_local(url, base_url))  # no API key: the signed token is the credential
    assert download.status_code == 200
    assert download.headers["content-type"] == "image/png"
    assert download.headers["cache-control"] == "no-store"
    assert Image.open(io.BytesIO(download.content)).size == (1200, 800)

    tampered = requests.get(_local(url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB"), base_url))
    assert tampered.status_code == 410 and _error(tampered)["code"] == "link_invalid"


def test_links_for_missing_doses_and_certificates_explain_why(certificate):
    base_url, http, _, _ = certificate
    headers = _login(base_url, http, ONE_DOSE_NO_CERTIFICATE.phone)
    not_issued = http.post(f"{base_url}/v1/me/certificates/1/link", headers=headers)
    assert not_issued.status_code == 404 and _error(not_issued)["code"] == "certificate_not_issued"
    assert _error(not_issued)["data"] == {"dose": 1, "dose_label": "Dosis 1"}
    no_dose = http.post(f"{base_url}/v1/me/certificates/2/link", headers=headers)
    assert no_dose.status_code == 404 and _error(no_dose)["code"] == "dose_not_found"
    assert http.post(f"{base_url}/v1/me/certificates/4/link", headers=headers).status_code == 422


def test_the_qr_payload_verifies_and_a_tampered_one_does_not(certificate):
    base_url, http, sessions, _ = certificate
    with sessions() as session:
        number = session.execute(select(Certificate.number).join(Certificate.vaccination).join(Person)
                                 .where(Person.nik == TWO_DOSES.nik)).scalars().first()
        payload = services.certificate_document(session, SIGNING_KEY, number).qr_payload
    body, signature = payload.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert claims["nik"] == "************0012" and TWO_DOSES.nik not in json.dumps(claims)

    valid = http.get(f"{base_url}/v1/certificates/verify", params={"payload": payload}).json()
    assert valid["valid"] is True and valid["number"] == number
    assert valid["nik_masked"] == "************0012" and valid["label"] in ("Dosis 1", "Dosis 2")

    forged_body = body[:-2] + ("AA" if not body.endswith("AA") else "BB")
    for forged in (f"{forged_body}.{signature}", f"{body}.{signature[::-1]}", "garbage"):
        answer = http.get(f"{base_url}/v1/certificates/verify", params={"payload": forged})
        assert answer.status_code == 200 and answer.json()["valid"] is False
        assert answer.json()["reason"] == "certificate_invalid"


# --- Profile changes ------------------------------------------------------------------------------

def test_a_name_change_shows_in_the_next_certificate(certificate):
    base_url, http, sessions, app = certificate
    headers = _login(base_url, http, THREE_DOSES.phone)
    request_id = uuid.uuid4().hex
    body = {"name": "  rina   wulandari putri ", "request_id": request_id, "channel": "whatsapp"}
    changed = http.put(f"{base_url}/v1/me/name", json=body, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"old": "R*** W********", "new": "Rina Wulandari Putri"}
    assert http.put(f"{base_url}/v1/me/name", json=body, headers=headers).json() == changed.json()  # idempotent
    conflict = http.put(f"{base_url}/v1/me/name", json={**body, "name": "Rina W"}, headers=headers)
    assert conflict.status_code == 409 and _error(conflict)["code"] == "request_id_conflict"
    assert http.get(f"{base_url}/v1/me", headers=headers).json()["name"] == "Rina Wulandari Putri"

    link = http.post(f"{base_url}/v1/me/certificates/1/link", headers=headers).json()["url"]
    with sessions() as session:
        document, png = services.render_certificate_from_link(session, SIGNING_KEY, link.split("token=", 1)[1],
                                                              utcnow())
        assert document.name == "Rina Wulandari Putri" and png.startswith(b"\x89PNG")
        audit = session.execute(select(AuditEntry).where(AuditEntry.request_id == request_id)).scalars().one()
        assert (audit.field, audit.old_masked, audit.new_masked, audit.channel) == (
            "name", "R*** W********", "R*** W******** P****", "whatsapp")


def test_the_same_name_change_sent_twice_at_once_is_applied_once(certificate):
    base_url, http, sessions, _ = certificate
    headers = _login(base_url, http, TWO_DOSES.phone)
    body = {"name": "Agus Setiawan Putra", "request_id": uuid.uuid4().hex, "channel": "whatsapp"}
    start = threading.Barrier(2)
    answers = []

    def send():
        start.wait()
        answers.append(requests.put(f"{base_url}/v1/me/name", json=body, headers={**http.headers, **headers}))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert answers[0].json() == answers[1].json() == {"old": "A*** S*******", "new": "Agus Setiawan Putra"}
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(AuditEntry)
                               .where(AuditEntry.request_id == body["request_id"])).scalar_one() == 1


def test_an_invalid_name_is_refused(certificate):
    base_url, http, _, _ = certificate
    headers = _login(base_url, http, TWO_DOSES.phone)
    response = http.put(f"{base_url}/v1/me/name", json={"name": "B0b!", "request_id": "r-1", "channel": "web"},
                        headers=headers)
    assert response.status_code == 422 and _error(response)["code"] == "name_characters"


def test_a_phone_change_needs_an_otp_on_the_new_number(certificate):
    base_url, http, _, _ = certificate
    new_phone = "+6281399990001"
    anonymous = http.post(f"{base_url}/v1/otp/request", json={"phone": new_phone, "purpose": "change_phone"})
    assert anonymous.status_code == 401 and _error(anonymous)["code"] == "session_required"

    headers = _login(base_url, http, TWO_DOSES.phone)
    sent = http.post(f"{base_url}/v1/otp/request", json={"phone": new_phone, "purpose": "change_phone"},
                     headers=headers)
    assert sent.status_code == 202
    code = _latest_code(base_url, http, new_phone)
    body = {"phone": new_phone, "code": f"{(int(code) + 1) % 1_000_000:06d}", "request_id": "chg-1",
            "channel": "whatsapp"}
    assert _error(http.put(f"{base_url}/v1/me/phone", json=body, headers=headers))["code"] == "otp_wrong"
    changed = http.put(f"{base_url}/v1/me/phone", json={**body, "code": code}, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"old": "+62811*****002", "new": "+62813*****001"}

    notice = _outbox(base_url, http, TWO_DOSES.phone)[-1]["text"]
    assert "telah diganti" in notice and new_phone not in notice
    assert http.get(f"{base_url}/v1/me", headers=headers).json()["phone_masked"] == "+62813*****001"
    assert http.get(f"{base_url}/v1/me", headers=_login(base_url, http, new_phone)).json()["name"] == TWO_DOSES.name


def test_a_number_of_another_account_cannot_be_told_from_any_other(certificate):
    """A verified user asking to move to someone else's number learns nothing: the same reply as for a
    free number, no SMS to the owner, the code fails like a wrong one, and the requests are rate-limited
    like any other number's."""
    base_url, http, _, _ = certificate
    headers = _login(base_url, http, TWO_DOSES.phone)
    free_number = "+6281399990002"
    before = len(_outbox(base_url, http, THREE_DOSES.phone))
    taken = http.post(f"{base_url}/v1/otp/request", json={"phone": THREE_DOSES.phone, "purpose": "change_phone"},
                      headers=headers)
    free = http.post(f"{base_url}/v1/otp/request", json={"phone": free_number, "purpose": "change_phone"},
                     headers=headers)
    assert taken.status_code == free.status_code == 202 and taken.json() == free.json()
    assert len(_outbox(base_url, http, THREE_DOSES.phone)) == before        # the owner got nothing
    for guess in ("000000", "123456"):
        refused = http.put(f"{base_url}/v1/me/phone", headers=headers,
                           json={"phone": THREE_DOSES.phone, "code": guess, "request_id": f"p-{guess}",
                                 "channel": "whatsapp"})
        assert refused.status_code == 401 and _error(refused)["code"] == "otp_wrong"
    for _ in range(2):
        assert http.post(f"{base_url}/v1/otp/request", headers=headers,
                         json={"phone": THREE_DOSES.phone, "purpose": "change_phone"}).status_code == 202
    limited = http.post(f"{base_url}/v1/otp/request", headers=headers,
                        json={"phone": THREE_DOSES.phone, "purpose": "change_phone"})
    assert limited.status_code == 429 and _error(limited)["code"] == "otp_rate_limited"


def test_a_code_request_past_its_deadline_sends_nothing_and_costs_nothing(certificate):
    """The action server gave up waiting (this service was stalled): a code sent now would arrive after
    the user was told to retry, and the retry would spend a second code of the hourly three."""
    base_url, http, sessions, _ = certificate
    late = http.post(f"{base_url}/v1/otp/request",
                     json={"phone": THREE_DOSES.phone, "deadline": time.time() - 1})
    assert late.status_code == 504 and _error(late)["code"] == "request_past_deadline"
    assert _outbox(base_url, http, THREE_DOSES.phone) == []
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(OtpChallenge)).scalar() == 0
    for _ in range(3):                          # the hourly allowance is untouched
        assert http.post(f"{base_url}/v1/otp/request",
                         json={"phone": THREE_DOSES.phone, "deadline": time.time() + 10}).status_code == 202
    assert len(_outbox(base_url, http, THREE_DOSES.phone)) == 3


def _ask(base_url, http, phone, requester):
    return http.post(f"{base_url}/v1/otp/request", json={"phone": phone, "requesters": [requester]})


def test_a_stranger_asking_for_codes_cannot_lock_the_owner_out(certificate):
    base_url, http, _, _ = certificate
    stranger, owner = "conversation:rest:stranger-1", "conversation:whatsapp:6281110000001"
    for _ in range(3):
        assert _ask(base_url, http, THREE_DOSES.phone, stranger).status_code == 202
    refused = _ask(base_url, http, THREE_DOSES.phone, stranger)
    assert refused.status_code == 429 and _error(refused)["data"]["reason"] == "own"
    assert _ask(base_url, http, THREE_DOSES.phone, owner).status_code == 202      # the owner still gets one
    code = _latest_code(base_url, http, THREE_DOSES.phone)
    assert http.post(f"{base_url}/v1/otp/verify", json={"phone": THREE_DOSES.phone, "code": code}).status_code == 200


def test_many_strangers_together_hit_the_numbers_cap_and_one_stranger_the_requesters(certificate):
    base_url, http, _, _ = certificate
    answers = [_ask(base_url, http, UNREGISTERED_PHONE, f"conversation:rest:s-{i}").status_code for i in range(11)]
    assert answers == [202] * 10 + [429]                                         # SMS cost cap per number
    one = "conversation:whatsapp:6285700000001"
    numbers = [f"+62857123450{i:02d}" for i in range(7)]
    answers = [_ask(base_url, http, number, one).status_code for number in numbers]
    assert answers == [202] * 6 + [429]                                          # a requester sweeping numbers


def test_an_ended_verification_is_refused_everywhere(certificate):
    base_url, http, _, _ = certificate
    headers = _login(base_url, http, TWO_DOSES.phone)
    other = _login(base_url, http, TWO_DOSES.phone)          # the same person in another conversation
    assert http.get(f"{base_url}/v1/me", headers=headers).status_code == 200
    for _ in range(2):                                        # idempotent
        assert http.delete(f"{base_url}/v1/me/session", headers=headers).status_code == 204
    for path in ("/v1/me", "/v1/me/vaccinations"):
        refused = http.get(f"{base_url}{path}", headers=headers)
        assert refused.status_code == 401 and _error(refused)["code"] == "session_invalid"
    assert http.get(f"{base_url}/v1/me", headers=other).status_code == 200   # only that one ended
    assert http.delete(f"{base_url}/v1/me/session", headers={"X-Session-Token": "forged"}).status_code == 204
    assert http.delete(f"{base_url}/v1/me/session").status_code == 204


def test_expired_challenges_of_every_number_are_purged(certificate):
    base_url, http, sessions, _ = certificate
    for phone in (UNREGISTERED_PHONE, "+6285712345679", THREE_DOSES.phone):
        assert http.post(f"{base_url}/v1/otp/request", json={"phone": phone}).status_code == 202
    with sessions() as session:
        assert services.purge_expired_otp_records(session, utcnow()) == 0
        removed = services.purge_expired_otp_records(session, utcnow() + dt.timedelta(hours=1, minutes=1))
        session.commit()
        assert removed == 3
        for table in (OtpChallenge, OtpRequest):
            assert session.execute(select(func.count()).select_from(table)).scalar() == 0


def test_the_holder_is_told_once_by_sms_about_codes_nobody_used(certificate):
    base_url, http, sessions, app = certificate
    for requester in ("conversation:rest:stranger-a", "conversation:rest:stranger-b"):
        assert _ask(base_url, http, THREE_DOSES.phone, requester).status_code == 202
    assert _ask(base_url, http, UNREGISTERED_PHONE, "conversation:rest:stranger-a").status_code == 202
    _login(base_url, http, TWO_DOSES.phone)                   # used codes are no reason for a notice
    later = utcnow() + dt.timedelta(hours=1, minutes=1)
    for _ in range(2):                                        # once, however often the purge runs
        with sessions() as session:
            services.purge_expired_otp_records(session, later, app.state.gateway)
            session.commit()
    notices = [m["text"] for m in _outbox(base_url, http, THREE_DOSES.phone) if "tidak digunakan" in m["text"]]
    assert len(notices) == 1 and "Ada 2 permintaan" in notices[0] and not re.search(r"\d{6}", notices[0])
    assert not any("tidak digunakan" in m["text"] for m in _outbox(base_url, http, TWO_DOSES.phone))


def test_a_nik_correction_is_escalated_once_per_request(certificate):
    base_url, http, _, _ = certificate
    headers = _login(base_url, http, NO_DOSES.phone)
    body = {"kind": "nik_correction", "note": "NIK di sertifikat salah satu digit.", "request_id": "esk-1"}
    first = http.post(f"{base_url}/v1/me/escalations", json=body, headers=headers)
    assert first.status_code == 201
    assert re.fullmatch(r"ESK-[A-Z2-9]{8}", first.json()["reference"])
    assert first.json()["working_days"] == 3
    again = http.post(f"{base_url}/v1/me/escalations", json=body, headers=headers)
    assert again.json()["reference"] == first.json()["reference"]


# --- Production and privacy -------------------------------------------------------------------------

def test_dev_outbox_does_not_exist_in_production(database_url, serve_app, monkeypatch):
    upgrade_schema(MIGRATIONS_DIR, VERSION_TABLE, database_url)
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("CERTIFICATE_API_KEY", "prod-api-key")
    monkeypatch.setenv("CERTIFICATE_SIGNING_KEY", "prod-signing-key")
    monkeypatch.setenv("CERTIFICATE_OFFICER_API_KEY", "prod-officer-key")
    monkeypatch.setenv("CERTIFICATE_DATABASE_URL", database_url)
    app = create_app()
    assert not app.state.settings.development
    base_url = serve_app(app)
    response = requests.get(f"{base_url}/dev/outbox", headers={"X-API-Key": "prod-api-key"})
    assert response.status_code == 404 and _error(response)["code"] == "not_found"
    assert not any(path.startswith("/dev") for path in requests.get(f"{base_url}/openapi.json").json()["paths"])
    assert requests.get(f"{base_url}/health").json()["database"] is True


def test_logs_never_contain_a_phone_nik_or_code(certificate):
    base_url, http, _, _ = certificate

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__()
            self.lines = []

        def emit(self, record):
            self.lines.append(record.getMessage())

    collector = Collect()
    logging.getLogger().handlers.insert(0, collector)  # before the redacting handler: sees raw messages
    try:
        headers = _login(base_url, http, THREE_DOSES.phone)
        code = _latest_code(base_url, http, THREE_DOSES.phone)
        http.put(f"{base_url}/v1/me/name", json={"name": "Rina W", "request_id": "log-1", "channel": "web"},
                 headers=headers)
        http.post(f"{base_url}/v1/me/certificates/3/link", headers=headers)
    finally:
        logging.getLogger().handlers.remove(collector)
    text = "\n".join(collector.lines)
    assert "sms sent to +62811*****001" in text
    for secret in (THREE_DOSES.phone, THREE_DOSES.phone[1:], THREE_DOSES.nik, code, headers["X-Session-Token"]):
        assert secret not in text


# --- Demo data -------------------------------------------------------------------------------------

def test_seed_is_valid_varied_and_deterministic(database_url, tmp_path):
    upgrade_schema(MIGRATIONS_DIR, VERSION_TABLE, database_url)
    other_url = f"sqlite:///{tmp_path / 'again.sqlite3'}"
    upgrade_schema(MIGRATIONS_DIR, VERSION_TABLE, other_url)
    fingerprints = []
    for url in (database_url, other_url):
        engine = make_engine(url)
        with make_session_factory(engine)() as session:
            seed(session, dt.date(2025, 1, 1), random.Random(2021))
            persons = session.execute(select(Person).order_by(Person.id)).scalars().all()
            fingerprints.append([(p.nik, p.name, p.phone, [(v.dose, v.date, v.brand, v.batch,
                                                            v.certificate.number if v.certificate else None)
                                                           for v in p.vaccinations]) for p in persons])
        engine.dispose()
    assert fingerprints[0] == fingerprints[1]

    people = fingerprints[0]
    assert len(people) == 300 + len(DEMO_PERSONS)
    assert [p[0] for p in people[:len(DEMO_PERSONS)]] == [d.nik for d in DEMO_PERSONS]
    assert len({p[2] for p in people}) == len(people)
    for nik, _, phone, doses in people:
        parse_nik(nik, dt.date(2025, 1, 1))
        assert normalize_phone(phone) == phone
        assert [d[0] for d in doses] == list(range(1, len(doses) + 1))
        assert all(dt.date(2021, 1, 13) <= d[1] <= dt.date(2022, 12, 31) for d in doses)
    assert {len(p[3]) for p in people} == {0, 1, 2, 3}
    uncertified = [d for p in people for d in p[3] if d[4] is None]
    assert 0 < len(uncertified) < 60
    brands = {d[2] for p in people for d in p[3]}
    assert brands == {"Sinovac/CoronaVac", "AstraZeneca", "Pfizer", "Moderna", "Sinopharm"}


def test_a_name_preview_validates_without_changing_anything(certificate):
    base_url, http, _, _ = certificate
    headers = _login(base_url, http, TWO_DOSES.phone)
    preview = http.post(f"{base_url}/v1/me/name/preview", json={"name": "agus setiawan   putra"}, headers=headers)
    assert preview.status_code == 200, preview.text
    assert preview.json() == {"old": "Agus Setiawan", "new": "Agus Setiawan Putra"}
    assert http.get(f"{base_url}/v1/me", headers=headers).json()["name"] == "Agus Setiawan"
    same = http.post(f"{base_url}/v1/me/name/preview", json={"name": "Agus Setiawan"}, headers=headers)
    assert same.status_code == 422 and _error(same)["code"] == "name_unchanged"
    assert http.post(f"{base_url}/v1/me/name/preview", json={"name": "Agus Setiawan Putra"}).status_code == 401


# --- Recovering an account whose number is lost ---------------------------------------------------

NEW_PHONE = "+6285799990001"


def _facts(person, **changes) -> dict:
    facts = {"nik": person.nik, "birth_date": parse_nik(person.nik).birth_date.isoformat(), "name": person.name,
             "requesters": ["conversation:rest:lost-1"]}
    return {**facts, **changes}


def _recovery_ticket(base_url, http, person, **changes) -> str:
    checked = http.post(f"{base_url}/v1/recovery/check", json=_facts(person, **changes))
    assert checked.status_code == 200, checked.text
    assert checked.json()["expires_in_seconds"] == 900
    return checked.json()["ticket"]


def _open_recovery(base_url, http, person, phone=NEW_PHONE, request_id="rec-1"):
    ticket = _recovery_ticket(base_url, http, person)
    sent = http.post(f"{base_url}/v1/otp/request", json={"phone": phone, "purpose": "recovery",
                                                         "recovery_ticket": ticket})
    assert sent.status_code == 202, sent.text
    code = _latest_code(base_url, http, phone)
    return http.post(f"{base_url}/v1/recovery/requests", json={
        "ticket": ticket, "phone": phone, "code": code, "request_id": request_id, "channel": "whatsapp"})


@pytest.mark.parametrize("changes", [
    {"birth_date": "1990-08-06"},                  # a day off
    {"name": "Rina Wulandar"},                      # one letter short
    {"name": "Wulandari"},                          # part of the name
    {"nik": "3174054508900004"},                    # a NIK nobody has
])
def test_any_mismatch_of_the_facts_gets_one_identical_refusal(certificate, changes):
    base_url, http, _, _ = certificate
    refused = http.post(f"{base_url}/v1/recovery/check", json=_facts(THREE_DOSES, **changes))
    assert refused.status_code == 422
    assert _error(refused) == {"code": "recovery_facts_mismatch", "detail": "The facts do not match an account.",
                               "data": {"attempts_left": 4}}


def test_the_facts_match_however_the_name_is_cased_and_the_nik_spaced(certificate):
    base_url, http, _, _ = certificate
    assert _recovery_ticket(base_url, http, THREE_DOSES, name="  RINA   wulandari ",
                            nik="3174 0545 0890 0003")


def test_five_failed_checks_a_day_per_nik_stop_even_the_right_facts(certificate):
    base_url, http, _, _ = certificate
    for attempt in range(5):   # five different requesters, one NIK: a guesser's many conversations
        wrong = _facts(TWO_DOSES, name=f"Agus Salah {attempt}", requesters=[f"conversation:rest:guess-{attempt}"])
        assert http.post(f"{base_url}/v1/recovery/check", json=wrong).status_code == 422
    right = http.post(f"{base_url}/v1/recovery/check", json=_facts(TWO_DOSES, requesters=["conversation:rest:own"]))
    assert right.status_code == 429 and _error(right)["code"] == "recovery_throttled"
    assert 23 <= _error(right)["data"]["retry_after_hours"] <= 24
    # Another person's NIK from a fresh requester is not affected.
    assert _recovery_ticket(base_url, http, THREE_DOSES)


def test_a_requester_gets_five_failed_checks_a_day_across_niks(certificate):
    base_url, http, _, _ = certificate
    niks = [p.nik for p in DEMO_PERSONS] + ["3174054508900004"]
    for nik in niks:
        assert http.post(f"{base_url}/v1/recovery/check",
                         json=_facts(THREE_DOSES, nik=nik, name="Bukan Siapa Siapa")).status_code == 422
    sixth = http.post(f"{base_url}/v1/recovery/check", json=_facts(NO_DOSES, name="Bukan Siapa Siapa"))
    assert sixth.status_code == 429


def test_a_shared_client_address_gets_fifty_failed_checks_a_day(certificate):
    base_url, http, _, _ = certificate
    for attempt in range(50):   # fifty people behind one NAT, each in their own conversation
        wrong = _facts(THREE_DOSES, nik=f"317405450890{attempt + 10:04d}", name="Salah",
                       requesters=[f"conversation:whatsapp:{attempt}", "client:nat-1"])
        refused = http.post(f"{base_url}/v1/recovery/check", json=wrong)
        assert _error(refused)["code"] == "recovery_facts_mismatch", attempt
    blocked = http.post(f"{base_url}/v1/recovery/check",
                        json=_facts(THREE_DOSES, requesters=["conversation:whatsapp:new", "client:nat-1"]))
    assert blocked.status_code == 429
    assert _recovery_ticket(base_url, http, THREE_DOSES, requesters=["conversation:whatsapp:new", "client:nat-2"])


def test_a_recovery_is_queued_never_applied_and_the_old_number_is_told(certificate):
    base_url, http, sessions, _ = certificate
    opened = _open_recovery(base_url, http, THREE_DOSES)
    assert opened.status_code == 201, opened.text
    body = opened.json()
    assert re.fullmatch(r"REC-[A-HJ-NP-Z2-9]{8}", body["reference"])
    assert body["status"] == "pending" and body["existing"] is False
    assert body["new_phone_masked"] != NEW_PHONE and body["new_phone_masked"].endswith("001")
    assert dt.date.fromisoformat(body["expected_by"]) > today_wib()
    with sessions() as session:   # nothing changed: the account still has its number
        assert session.execute(select(Person.phone).where(Person.nik == THREE_DOSES.nik)).scalar_one() == \
            THREE_DOSES.phone
    notice = _outbox(base_url, http, THREE_DOSES.phone)[-1]["text"]
    assert body["reference"] in notice and "119" in notice and NEW_PHONE not in notice
    status = http.get(f"{base_url}/v1/recovery/requests/{body['reference']}")
    assert status.status_code == 200 and status.json()["status"] == "pending"
    assert set(status.json()) == {"reference", "status", "created_at", "expected_by", "decided_at", "existing"}


def test_asking_again_answers_with_the_pending_request(certificate):
    base_url, http, sessions, _ = certificate
    first = _open_recovery(base_url, http, TWO_DOSES).json()
    replayed = _open_recovery(base_url, http, TWO_DOSES).json()   # the same request id: the same request
    assert replayed["reference"] == first["reference"] and replayed["existing"] is False
    again = _open_recovery(base_url, http, TWO_DOSES, phone="+6285799990002", request_id="rec-2").json()
    assert again["reference"] == first["reference"] and again["existing"] is True
    with sessions() as session:
        from backends.certificate.orm import RecoveryRequest
        assert session.execute(select(func.count()).select_from(RecoveryRequest)).scalar_one() == 1


def test_a_wrong_code_or_a_stale_ticket_opens_nothing(certificate):
    base_url, http, _, _ = certificate
    ticket = _recovery_ticket(base_url, http, NO_DOSES)
    http.post(f"{base_url}/v1/otp/request", json={"phone": NEW_PHONE, "purpose": "recovery", "recovery_ticket": ticket})
    code = _latest_code(base_url, http, NEW_PHONE)
    wrong = http.post(f"{base_url}/v1/recovery/requests", json={
        "ticket": ticket, "phone": NEW_PHONE, "code": f"{(int(code) + 1) % 1_000_000:06d}", "request_id": "r",
        "channel": "rest"})
    assert wrong.status_code == 401 and _error(wrong)["code"] == "otp_wrong"
    forged = http.post(f"{base_url}/v1/otp/request", json={"phone": NEW_PHONE, "purpose": "recovery",
                                                           "recovery_ticket": ticket[:-2] + "xx"})
    assert forged.status_code == 401 and _error(forged)["code"] == "recovery_ticket_invalid"
    # A login token is not a recovery ticket either.
    download = http.post(f"{base_url}/v1/otp/request", json={"phone": NEW_PHONE, "purpose": "recovery"})
    assert download.status_code == 401 and _error(download)["code"] == "recovery_ticket_invalid"


def test_a_number_of_another_account_gets_no_code_and_opens_nothing(certificate):
    base_url, http, _, _ = certificate
    ticket = _recovery_ticket(base_url, http, NO_DOSES)
    before = len(_outbox(base_url, http, TWO_DOSES.phone))
    sent = http.post(f"{base_url}/v1/otp/request", json={"phone": TWO_DOSES.phone, "purpose": "recovery",
                                                         "recovery_ticket": ticket})
    assert sent.status_code == 202   # the same answer as for any number
    assert len(_outbox(base_url, http, TWO_DOSES.phone)) == before
    guessed = http.post(f"{base_url}/v1/recovery/requests", json={
        "ticket": ticket, "phone": TWO_DOSES.phone, "code": "123456", "request_id": "r", "channel": "rest"})
    assert guessed.status_code == 401 and _error(guessed)["code"] == "otp_wrong"


def test_only_an_officer_decides_and_approval_moves_the_account(certificate):
    base_url, http, sessions, _ = certificate
    old_session = _login(base_url, http, THREE_DOSES.phone)
    reference = _open_recovery(base_url, http, THREE_DOSES).json()["reference"]
    decision = {"decision": "approve", "officer": "petugas-17"}
    url = f"{base_url}/v1/officer/recovery/requests/{reference}/decision"
    assert http.post(url, json=decision).status_code == 401          # the assistant's key cannot decide
    approved = requests.post(url, json=decision, headers={"X-API-Key": OFFICER_KEY})
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    with sessions() as session:
        assert session.execute(select(Person.phone).where(Person.nik == THREE_DOSES.nik)).scalar_one() == NEW_PHONE
    assert http.get(f"{base_url}/v1/me", headers=old_session).status_code == 401   # old verifications end
    assert reference in _outbox(base_url, http, NEW_PHONE)[-1]["text"]
    assert "diganti" in _outbox(base_url, http, THREE_DOSES.phone)[-1]["text"]
    assert _login(base_url, http, NEW_PHONE)                                     # the new number logs in
    again = requests.post(url, json=decision, headers={"X-API-Key": OFFICER_KEY})
    assert again.status_code == 200                                              # idempotent
    reject = requests.post(url, json={"decision": "reject", "officer": "x"}, headers={"X-API-Key": OFFICER_KEY})
    assert reject.status_code == 409 and _error(reject)["code"] == "recovery_already_decided"
    assert http.get(f"{base_url}/v1/recovery/requests/{reference}").json()["status"] == "approved"


def test_a_rejected_request_changes_nothing_and_an_unknown_reference_is_not_found(certificate):
    base_url, http, sessions, _ = certificate
    reference = _open_recovery(base_url, http, ONE_DOSE_NO_CERTIFICATE).json()["reference"]
    url = f"{base_url}/v1/officer/recovery/requests/{reference}/decision"
    rejected = requests.post(url, json={"decision": "reject", "officer": "petugas-3"},
                             headers={"X-API-Key": OFFICER_KEY})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    with sessions() as session:
        assert session.execute(select(Person.phone).where(Person.nik == ONE_DOSE_NO_CERTIFICATE.nik)
                               ).scalar_one() == ONE_DOSE_NO_CERTIFICATE.phone
    missing = http.get(f"{base_url}/v1/recovery/requests/REC-ZZZZZZZZ")
    assert missing.status_code == 404 and _error(missing)["code"] == "recovery_not_found"


def test_no_recovery_row_keeps_the_facts_typed(certificate):
    base_url, http, sessions, _ = certificate
    for attempt in range(3):
        http.post(f"{base_url}/v1/recovery/check", json=_facts(TWO_DOSES, name=f"Salah {attempt}"))
    _open_recovery(base_url, http, THREE_DOSES)
    with sessions() as session:
        from backends.certificate.orm import RecoveryFailure, RecoveryRequest
        failures = session.execute(select(RecoveryFailure)).scalars().all()
        assert len(failures) == 3 * 2   # per NIK and per requester, as keyed hashes
        for row in failures:
            assert TWO_DOSES.nik not in row.subject_key and len(row.subject_key) == 64
        request = session.execute(select(RecoveryRequest)).scalars().one()
        assert request.new_phone == NEW_PHONE   # what an approval applies, like the account's own number
