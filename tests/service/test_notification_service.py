"""Outbound notifications over HTTP, on SQLite and PostgreSQL: cohorts from both backends, WhatsApp
templates outside the 24-hour window and free-form inside it, status reports and the funnel, the
invitation with its SMS fallback, opt-out, no double send, concurrent runs, failures counted and
retried, the command.

All three services share the test database (as they may in production). WhatsApp is a fake Graph
API, the SMS gateway a fake, Rasa a small fake that records every trigger_intent call (for web
chat conversations): what "was sent" is observed over real HTTP. Sending is inline (no broker);
tests/service/test_notification_queue.py runs the same through RabbitMQ and several workers.
"""
from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from typing import Callable, Dict, List, Optional, Set

import pytest
import requests
from fastapi import Body, FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, update

from backends import certificate, notifications, registration
from backends.certificate.api import create_app as create_certificate_app
from backends.certificate.orm import Person, Vaccination
from backends.notifications.api import create_app as create_notifications_app
from backends.notifications import send
from backends.notifications.orm import CampaignRun, Delivery
from backends.notifications.settings import DeliverySettings
from backends.registration.api import create_app as create_registration_app
from backends.registration.orm import Appointment, Target
from backends.registration.seed import seed as seed_registration
from backends.shared.clock import today_wib
from indonesian_text.dates import indonesian_date
from backends.shared.database import make_engine, make_session_factory, upgrade_schema
from backends.shared.settings import NotificationSettings, ServiceSettings
from channels.whatsapp_window import RedisConversationState
from tests.service.fake_graph import FakeGraphApi, FakeSmsGateway

KEYS = {"registration": "test-registration-key", "certificate": "test-certificate-key",
        "notifications": "test-notifications-key"}
RASA_TOKEN = "test-rasa-token"
PHONE_NUMBER_ID = "106540352242922"
STATE_REDIS_URL = "redis://127.0.0.1:6379/14"


def delivery_settings(graph: FakeGraphApi, sms: FakeSmsGateway, **changes) -> DeliverySettings:
    values = dict(broker_url="", queue_name="notifications", limits_redis_url="", state_redis_url=STATE_REDIS_URL,
                  state_key=f"test-state-{uuid.uuid4().hex}".encode(), sealing_key="test-sealing-key",
                  graph_api_url=graph.url, phone_number_id=PHONE_NUMBER_ID, access_token="test-access-token",
                  timeout_seconds=5, messaging_tier=None, messages_per_second=1000, pair_interval_seconds=0.01,
                  in_doubt_seconds=900, max_attempts=3, sms_gateway="http", sms_gateway_url=sms.url,
                  sms_gateway_token="test-sms-token")
    values.update(changes)
    return DeliverySettings(**values)
NO_SCREENING_FINDINGS = {key: False for key in (
    "fever", "covid_recent", "pregnant_or_breastfeeding", "blood_pressure", "allergy_previous_dose",
    "chronic_or_autoimmune", "immunosuppressed")}


class FakeRasa:
    """Rasa's trigger_intent endpoint: records calls, can fail for chosen conversations, and can
    hold each call in `before_call` (e.g. until the test has seen a state it waits for)."""

    def __init__(self):
        self.calls: List[dict] = []
        self.failing: Set[str] = set()
        self.before_call: Optional[Callable[[], None]] = None
        self.lock = threading.Lock()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/conversations/{conversation_id}/trigger_intent")
        def trigger_intent(conversation_id: str, request: Request, body: dict = Body(...)):
            if request.query_params.get("token") != RASA_TOKEN:
                return JSONResponse({"status": "failure"}, status_code=401)
            if self.before_call is not None:
                self.before_call()
            if conversation_id in self.failing:
                return JSONResponse({"status": "failure"}, status_code=500)
            with self.lock:
                self.calls.append({"conversation_id": conversation_id, "intent": body["name"],
                                   "entities": body.get("entities", {}),
                                   "output_channel": request.query_params.get("output_channel")})
            return {"tracker": {}, "messages": []}

        return app

    def recipients(self) -> List[str]:
        return [call["conversation_id"] for call in self.calls]


class Stack:
    """Registration, certificate and notification services on one database, and a fake Rasa."""

    def __init__(self, database_url: str, serve_app, today=today_wib, **delivery_changes):
        for package in (registration, certificate, notifications):
            upgrade_schema(package.MIGRATIONS_DIR, package.VERSION_TABLE, database_url)
        self.engine = make_engine(database_url)
        self.sessions = make_session_factory(self.engine)
        with self.sessions() as session:
            seed_registration(session, today_wib(), random.Random(7))
        self.rasa = FakeRasa()
        self.graph = FakeGraphApi(PHONE_NUMBER_ID)
        self.sms = FakeSmsGateway()
        self.urls = {
            "registration": serve_app(create_registration_app(self._settings("registration", database_url))),
            "certificate": serve_app(create_certificate_app(self._settings("certificate", database_url))),
            "rasa": serve_app(self.rasa.app()),
        }
        self.options = NotificationSettings(
            rasa_url=self.urls["rasa"], rasa_token=RASA_TOKEN, registration_url=self.urls["registration"],
            registration_api_key=KEYS["registration"], certificate_url=self.urls["certificate"],
            certificate_api_key=KEYS["certificate"], messages_per_second=1000, reminder_hour=9,
            scheduler_interval_seconds=60, timeout_seconds=5)
        self.notification_settings = self._settings("notifications", database_url)
        self.delivery = delivery_settings(self.graph, self.sms, **delivery_changes)
        self.window = RedisConversationState(STATE_REDIS_URL, self.delivery.state_key)
        self.urls["notifications"] = serve_app(create_notifications_app(
            self.notification_settings, self.options, today=today, delivery_settings=self.delivery))
        self.http = {name: requests.Session() for name in KEYS}
        for name, session in self.http.items():
            session.headers["X-API-Key"] = KEYS[name]

    @staticmethod
    def _settings(service: str, database_url: str) -> ServiceSettings:
        return ServiceSettings(service=service, database_url=database_url, api_key=KEYS[service],
                               signing_key=f"test-{service}-signing-key".encode(), public_url=f"http://{service}.test",
                               environment="development")

    # --- registration data ---

    def free_slot(self, min_remaining: int = 5, after: Optional[dt.date] = None) -> dict:
        for site_id in range(1, 13):
            slots = self.http["registration"].get(f"{self.urls['registration']}/v1/sites/{site_id}/slots").json()
            for slot in slots:
                late_enough = after is None or dt.date.fromisoformat(slot["date"]) > after
                if slot["remaining"] >= min_remaining and late_enough:
                    return slot
        raise AssertionError("no free slot in the seeded data")

    def target_ids(self, count: int) -> List[int]:
        with self.sessions() as session:
            return list(session.execute(select(Target.id).order_by(Target.id).limit(count)).scalars())

    def book(self, target_id: int, slot_id: int, conversation_id: Optional[str], channel: str = "whatsapp") -> int:
        body = {"target_id": target_id, "slot_id": slot_id, "screening_answers": NO_SCREENING_FINDINGS,
                "request_id": uuid.uuid4().hex}
        if conversation_id:
            body["contact"] = {"channel": channel, "conversation_id": conversation_id}
        response = self.http["registration"].post(f"{self.urls['registration']}/v1/appointments", json=body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def cancel(self, appointment_id: int) -> None:
        with self.sessions() as session:
            session.execute(update(Appointment).where(Appointment.id == appointment_id).values(status="cancelled"))
            session.commit()

    # --- certificate data ---

    def add_person(self, phone: str, dose_dates: List[dt.date], nik: Optional[str] = None) -> None:
        with self.sessions() as session:
            person = Person(nik=nik or f"31710{random.randint(10**10, 10**11 - 1)}", name="Warga Uji",
                            birth_date=dt.date(1990, 1, 1), phone=phone)
            session.add(person)
            session.flush()
            for dose, date in enumerate(dose_dates, start=1):
                session.add(Vaccination(person_id=person.id, dose=dose, date=date, brand="Sinovac",
                                        site="Puskesmas Tebet", batch=f"B{dose}"))
            session.commit()

    # --- notifications ---

    def run(self, template: str, wait: bool = True, **body) -> requests.Response:
        return self.http["notifications"].post(f"{self.urls['notifications']}/v1/campaigns/{template}/runs",
                                               params={"wait": str(wait).lower()}, json=body)

    def set_preference(self, conversation_id: str, opted_out: bool, channel: str = "whatsapp") -> requests.Response:
        path = "opt-out" if opted_out else "opt-in"
        return self.http["notifications"].post(f"{self.urls['notifications']}/v1/preferences/{path}",
                                               json={"channel": channel, "conversation_id": conversation_id})


    def report(self, *events: dict) -> None:
        """Delivery events as the WhatsApp channel hands them on (no broker: over HTTP)."""
        response = self.http["notifications"].post(f"{self.urls['notifications']}/v1/delivery-events",
                                                   json={"events": list(events)})
        assert response.status_code == 204, response.text

    def funnel(self, campaign_id: str) -> dict:
        return self.http["notifications"].get(f"{self.urls['notifications']}/v1/campaigns/{campaign_id}/funnel").json()

    def close(self) -> None:
        self.graph.close()
        self.sms.close()
        self.engine.dispose()


@pytest.fixture
def stack(database_url, serve_app):
    running = Stack(database_url, serve_app)
    yield running
    running.close()


def counts(summary: dict) -> Dict[str, int]:
    return {key: summary[key] for key in ("total", "sent", "skipped_opted_out", "skipped_already_sent",
                                          "skipped_no_contact", "failed")}


# --- Cohorts from the owning backends ------------------------------------------------------------

def test_registration_cohort_lists_booked_appointments_of_the_date_with_their_contact(stack):
    slot = stack.free_slot()
    later = stack.free_slot(after=dt.date.fromisoformat(slot["date"]))
    first, second, third, elsewhere = stack.target_ids(4)
    stack.book(first, slot["id"], "6281200000001")
    stack.book(second, slot["id"], None)  # booked outside a conversation
    cancelled = stack.book(third, slot["id"], "6281200000003")
    stack.cancel(cancelled)
    stack.book(elsewhere, later["id"], "6281200000004")

    url = f"{stack.urls['registration']}/v1/cohorts/appointments"
    assert requests.get(url, params={"date": slot["date"]}).status_code == 401
    cohort = stack.http["registration"].get(url, params={"date": slot["date"]}).json()
    assert [row["contact"] for row in cohort] == [
        {"channel": "whatsapp", "conversation_id": "6281200000001"}, None]
    assert cohort[0]["date"] == slot["date"] and cohort[0]["session"] == slot["session"]
    assert cohort[0]["hours"] == slot["hours"] and cohort[0]["site_name"]
    assert "nik" not in str(cohort).lower()


def test_certificate_cohort_is_first_dose_on_the_date_without_a_second_dose(stack):
    first_dose = today_wib() - dt.timedelta(days=28)
    stack.add_person("+6281200000011", [first_dose])
    stack.add_person("+6281200000012", [first_dose, first_dose + dt.timedelta(days=28)])  # already has dose 2
    stack.add_person("+6281200000013", [first_dose - dt.timedelta(days=1)])  # 29 days ago
    url = f"{stack.urls['certificate']}/v1/cohorts/second-dose-due"
    assert requests.get(url, params={"first_dose_date": first_dose.isoformat()}).status_code == 401
    cohort = stack.http["certificate"].get(url, params={"first_dose_date": first_dose.isoformat()}).json()
    assert cohort == [{"first_dose_date": first_dose.isoformat(), "brand": "Sinovac",
                       "contact": {"channel": "whatsapp", "conversation_id": "6281200000011"}}]


# --- Sending -------------------------------------------------------------------------------------

def test_reminders_go_through_trigger_intent_once_and_a_rerun_sends_nothing(stack):
    slot = stack.free_slot()
    first, second, third = stack.target_ids(3)
    stack.book(first, slot["id"], "6281200000001")
    stack.book(second, slot["id"], "web-user-2", channel="rest")
    stack.book(third, slot["id"], None)

    response = stack.run("appointment_tomorrow", date=slot["date"])
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["status"] == "finished" and summary["campaign_id"] == f"appointment_tomorrow:{slot['date']}"
    assert counts(summary) == {"total": 3, "sent": 2, "skipped_opted_out": 0, "skipped_already_sent": 0,
                               "skipped_no_contact": 1, "failed": 0}
    # The web chat conversation through Rasa; the WhatsApp one as the approved template (the user
    # has not written in the last 24 hours, so free-form text would not be delivered).
    assert [(c["conversation_id"], c["output_channel"]) for c in stack.rasa.calls] == [("web-user-2", "rest")]
    call = stack.rasa.calls[0]
    assert call["intent"] == "EXTERNAL_appointment_tomorrow"
    assert call["entities"]["date"] == slot["date"] and call["entities"]["hours"] == slot["hours"]
    assert call["entities"]["site_name"] and call["entities"]["site_address"]
    (message,) = stack.graph.accepted
    assert (message["to"], message["type"], message["template"]) == (
        "6281200000001", "template", "vaksinbot_appointment_tomorrow_v1")
    body, *buttons = message["components"]
    values = [p["text"] for p in body["parameters"]]
    assert values[0] == indonesian_date(dt.date.fromisoformat(slot["date"])) and values[4] == slot["hours"]
    assert [b["parameters"][0]["payload"] for b in buttons] == ["/show_ticket", "/notification_opt_out"]
    assert message["callback"].startswith("vb1:")

    again = stack.run("appointment_tomorrow", date=slot["date"]).json()
    assert counts(again) == {"total": 3, "sent": 0, "skipped_opted_out": 0, "skipped_already_sent": 2,
                             "skipped_no_contact": 1, "failed": 0}
    assert len(stack.rasa.calls) == 1 and len(stack.graph.accepted) == 1
    with stack.sessions() as session:  # the ledger holds hashes, never the number
        hashes = list(session.execute(select(Delivery.recipient_hash)).scalars())
    assert len(hashes) == 2 and not any("6281200000001" in h for h in hashes)


def test_second_dose_notice_reaches_whatsapp_at_the_registered_number(stack):
    first_dose = today_wib() - dt.timedelta(days=21)
    stack.add_person("+6281200000021", [first_dose])
    summary = stack.run("second_dose_due", days=21).json()
    assert counts(summary)["sent"] == 1
    assert stack.rasa.calls == []
    (message,) = stack.graph.accepted
    assert (message["to"], message["template"]) == ("6281200000021", "vaksinbot_second_dose_due_v1")
    assert [p["text"] for p in message["components"][0]["parameters"]] == [
        "Sinovac", indonesian_date(first_dose), "21"]


def test_opt_out_is_honoured_and_opt_in_restores_notifications(stack):
    # Web chat conversations (through Rasa); WhatsApp opt-outs are the same rows (channel + id).
    slot = stack.free_slot()
    later = stack.free_slot(after=dt.date.fromisoformat(slot["date"]))
    first, second = stack.target_ids(2)
    stack.book(first, slot["id"], "6281200000001", channel="rest")
    stack.book(second, slot["id"], "6281200000002", channel="rest")
    assert stack.set_preference("6281200000001", opted_out=True, channel="rest").json() == {"opted_out": True}
    again = stack.set_preference("6281200000001", opted_out=True, channel="rest")
    assert again.json() == {"opted_out": True}  # idempotent

    summary = stack.run("appointment_tomorrow", date=slot["date"]).json()
    assert (summary["sent"], summary["skipped_opted_out"]) == (1, 1)
    assert stack.rasa.recipients() == ["6281200000002"]
    assert stack.set_preference("6281200000001", opted_out=False, channel="rest").json() == {"opted_out": False}

    with stack.sessions() as session:  # a new booking on another date: a new campaign
        session.execute(update(Appointment).values(status="cancelled"))
        session.commit()
    stack.book(first, later["id"], "6281200000001", channel="rest")
    resumed = stack.run("appointment_tomorrow", date=later["date"]).json()
    assert (resumed["sent"], resumed["skipped_opted_out"]) == (1, 0)
    assert stack.rasa.recipients() == ["6281200000002", "6281200000001"]


def test_failed_sends_are_counted_and_retried_by_the_next_run(stack):
    slot = stack.free_slot()
    first, second = stack.target_ids(2)
    stack.book(first, slot["id"], "6281200000001", channel="rest")
    stack.book(second, slot["id"], "6281200000002", channel="rest")
    stack.rasa.failing.add("6281200000002")

    summary = stack.run("appointment_tomorrow", date=slot["date"]).json()
    assert (summary["sent"], summary["failed"]) == (1, 1)

    stack.rasa.failing.clear()
    retry = stack.run("appointment_tomorrow", date=slot["date"]).json()
    assert (retry["sent"], retry["failed"], retry["skipped_already_sent"]) == (1, 0, 1)
    assert sorted(stack.rasa.recipients()) == ["6281200000001", "6281200000002"]
    with stack.sessions() as session:
        ledger = sorted(session.execute(select(Delivery.status, Delivery.attempts)).all())
    assert [tuple(row) for row in ledger] == [("sent", 1), ("sent", 2)]


def test_rasa_refusing_counts_the_send_as_failed(stack):
    slot = stack.free_slot()
    (first,) = stack.target_ids(1)
    stack.book(first, slot["id"], "6281200000001", channel="rest")
    stack.rasa.failing.add("6281200000001")
    summary = stack.run("appointment_tomorrow", date=slot["date"]).json()
    assert (summary["sent"], summary["failed"]) == (0, 1)


def test_two_simultaneous_runs_of_a_campaign_send_each_message_once(stack):
    slot = stack.free_slot(min_remaining=8)
    for index, target_id in enumerate(stack.target_ids(8)):
        stack.book(target_id, slot["id"], f"62812000001{index:02d}", channel="rest")
    # Whichever run reaches Rasa first waits there until the other run has started (its run is
    # recorded): the second one claims while the first is still sending. (Well within the 5 s the
    # service waits for Rasa.)
    both_started = threading.Event()

    def until_both_runs_have_started() -> None:
        deadline = time.monotonic() + 4
        while not both_started.is_set() and time.monotonic() < deadline:
            with stack.sessions() as session:
                started = session.execute(select(func.count(CampaignRun.id))).scalar_one()
            if started == 2:
                both_started.set()
            else:
                time.sleep(0.01)
    stack.rasa.before_call = until_both_runs_have_started
    results = []

    def run() -> None:
        results.append(stack.run("appointment_tomorrow", date=slot["date"]).json())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2
    assert both_started.is_set(), "the second run did not start while the first was sending"
    assert sum(r["skipped_already_sent"] for r in results) == 8  # each row claimed by one run only
    with stack.sessions() as session:
        assert sorted(session.execute(select(Delivery.status)).scalars()) == ["sent"] * 8
    assert sorted(stack.rasa.recipients()) == sorted(f"62812000001{i:02d}" for i in range(8))


def test_dry_run_counts_without_sending_or_claiming(stack):
    slot = stack.free_slot()
    first, second = stack.target_ids(2)
    stack.book(first, slot["id"], "6281200000001", channel="rest")
    stack.book(second, slot["id"], "6281200000002", channel="rest")
    stack.set_preference("6281200000002", opted_out=True, channel="rest")
    dry = stack.run("appointment_tomorrow", date=slot["date"], dry_run=True).json()
    assert (dry["dry_run"], dry["would_send"], dry["sent"], dry["skipped_opted_out"]) == (True, 1, 0, 1)
    assert stack.rasa.calls == []
    real = stack.run("appointment_tomorrow", date=slot["date"]).json()
    assert real["sent"] == 1


def test_a_run_in_the_background_is_followed_by_its_id(stack):
    slot = stack.free_slot()
    (first,) = stack.target_ids(1)
    stack.book(first, slot["id"], "6281200000001", channel="rest")
    started = stack.run("appointment_tomorrow", wait=False, date=slot["date"])
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    deadline = time.monotonic() + 20
    while True:  # the run's state, polled with a deadline (it runs in the service's background)
        run = stack.http["notifications"].get(f"{stack.urls['notifications']}/v1/runs/{run_id}").json()
        if run["status"] != "running" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert run["status"] == "finished" and run["sent"] == 1


def test_the_service_refuses_bad_requests_politely(stack):
    base = stack.urls["notifications"]
    assert requests.post(f"{base}/v1/campaigns/appointment_tomorrow/runs", json={}).status_code == 401
    assert requests.post(f"{base}/v1/preferences/opt-out",
                         json={"channel": "whatsapp", "conversation_id": "1"}).status_code == 401
    unknown = stack.run("birthday_greetings")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "template_unknown"
    wrong = stack.run("second_dose_due", date="2026-01-01")
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "cohort_invalid"
    missing = stack.http["notifications"].get(f"{base}/v1/runs/999999")
    assert missing.status_code == 404
    assert requests.get(f"{base}/health").json()["status"] == "ok"


def test_an_unreachable_cohort_source_sends_nothing_and_says_so(database_url, serve_app):
    stack = Stack(database_url, serve_app)
    try:
        broken = create_notifications_app(stack.notification_settings, NotificationSettings(
            **dict(stack.options.__dict__, registration_url="http://127.0.0.1:9")), delivery_settings=stack.delivery)
        base = serve_app(broken)
        response = stack.http["notifications"].post(f"{base}/v1/campaigns/appointment_tomorrow/runs",
                                                     params={"wait": "true"}, json={})
        assert response.status_code == 503 and response.json()["error"]["code"] == "cohort_unavailable"
        assert stack.rasa.calls == [] and stack.graph.accepted == []
    finally:
        stack.close()


def test_the_command_shows_progress_and_a_summary_and_is_idempotent(stack, monkeypatch, capsys):
    slot = stack.free_slot()
    first, second = stack.target_ids(2)
    stack.book(first, slot["id"], "6281200000001", channel="rest")
    stack.book(second, slot["id"], "6281200000002", channel="rest")
    stack.set_preference("6281200000002", opted_out=True, channel="rest")
    environment = {"NOTIFICATIONS_DATABASE_URL": stack.notification_settings.database_url,
                   "NOTIFICATIONS_SIGNING_KEY": stack.notification_settings.signing_key.decode(),
                   "REGISTRATION_URL": stack.urls["registration"], "REGISTRATION_API_KEY": KEYS["registration"],
                   "RASA_URL": stack.urls["rasa"], "RASA_AUTH_TOKEN": RASA_TOKEN}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    assert send.main(["appointment_tomorrow", "--date", slot["date"]]) == 0
    output = capsys.readouterr()
    assert f"appointment_tomorrow:{slot['date']}: 2 recipients, sent 1, skipped 1 (opted out 1" in output.out
    assert "2recipient" in output.err and "queued=1" in output.err  # tqdm's progress bar
    assert stack.rasa.recipients() == ["6281200000001"]

    assert send.main(["appointment_tomorrow", "--date", slot["date"]]) == 0
    assert "sent 0, skipped 2 (opted out 1, already sent 1" in capsys.readouterr().out
    assert len(stack.rasa.calls) == 1

    with pytest.raises(SystemExit):
        send.main(["second_dose_due", "--date", slot["date"]])  # the wrong parameter for this template
