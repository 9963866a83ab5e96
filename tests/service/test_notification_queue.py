"""Sending through the task queue: Dramatiq workers (separate processes) on the local RabbitMQ,
limits in the local Redis, the ledger in PostgreSQL, a fake Graph API.

- A worker is killed with SIGKILL halfway through a 10,000-recipient invitation, while Meta holds
  its request (the message is accepted, the worker never hears it): after the restart and a
  resumed run, every recipient got exactly one message - none twice, none lost.
- Four workers together keep the number's throughput, the messaging tier, and back off together
  after a 130429.

Each test has its own queue, number id (the limits' keys) and database. Skipped only where
RabbitMQ or Redis is not running (CI and this machine run both).
"""
from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Dict, List

import pytest
from sqlalchemy import func, insert, select, update

from backends import certificate, notifications, registration
from backends.notifications import domain
from backends.notifications.cohorts import BackendCohorts
from backends.notifications.orm import Delivery
from backends.notifications.queue import BrokerQueue
from backends.notifications.settings import DeliverySettings
from backends.notifications.wiring import build_sender
from backends.registration.api import create_app as create_registration_app
from backends.registration.orm import Site, Target
from backends.registration.seed import seed as seed_registration
from backends.shared.clock import today_wib, utcnow
from backends.shared.database import make_engine, make_session_factory, upgrade_schema
from backends.shared.settings import NotificationSettings, ServiceSettings
from tests.service.fake_graph import FakeGraphApi

BROKER_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
REDIS_URL = "redis://127.0.0.1:6379/13"
REGISTRATION_KEY = "test-registration-key"
PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# Worker processes on RabbitMQ, 10,000 recipients: ~100 s of the service tier, so not in `make test-fast`.
# (One list: a second `pytestmark = ...` would replace the first, and the slow marker with it.)
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not (_listening(5672) and _listening(6379)),
                                 reason="needs RabbitMQ on :5672 and Redis on :6379")]


class QueueStack:
    def __init__(self, database_url: str, serve_app, targets: int, **delivery_changes):
        for package in (registration, certificate, notifications):
            upgrade_schema(package.MIGRATIONS_DIR, package.VERSION_TABLE, database_url)
        self.database_url = database_url
        self.engine = make_engine(database_url)
        self.sessions = make_session_factory(self.engine)
        self.phones = self._seed(targets)
        registration_settings = ServiceSettings(service="registration", database_url=database_url,
                                                api_key=REGISTRATION_KEY, signing_key=b"test-registration-signing",
                                                public_url="http://registration.test", environment="development")
        self.registration_url = serve_app(create_registration_app(registration_settings))
        self.graph = FakeGraphApi()
        self.tag = uuid.uuid4().hex[:10]
        values = dict(broker_url=BROKER_URL, queue_name=f"notify_test_{self.tag}", limits_redis_url=REDIS_URL,
                      state_redis_url=REDIS_URL, state_key=f"test-state-{self.tag}".encode(),
                      sealing_key="test-sealing-key", graph_api_url=self.graph.url,
                      phone_number_id=f"number{self.tag}", access_token="test-access-token", timeout_seconds=5,
                      messaging_tier=None, messages_per_second=5000, pair_interval_seconds=6, in_doubt_seconds=900,
                      max_attempts=5, sms_gateway="outbox", sms_gateway_url="", sms_gateway_token="")
        values.update(delivery_changes)
        self.delivery = DeliverySettings(**values)
        self.options = NotificationSettings(
            rasa_url="http://127.0.0.1:9", rasa_token="", registration_url=self.registration_url,
            registration_api_key=REGISTRATION_KEY, certificate_url="http://127.0.0.1:9", certificate_api_key="",
            messages_per_second=100, reminder_hour=9, scheduler_interval_seconds=60, timeout_seconds=10)
        self.service = ServiceSettings(service="notifications", database_url=database_url, api_key="test-key",
                                       signing_key=b"test-notifications-signing", public_url="http://n.test",
                                       environment="development")
        self.reports = BrokerQueue.from_url(BROKER_URL, self.delivery.queue_name)
        # Meta reports each accepted message (`sent`), in webhooks of up to 100 statuses, as the
        # channel hands them to the queue.
        self._statuses: List[dict] = []
        self._status_lock = threading.Lock()
        self.graph.on_accepted = self._status_of
        self.workers: Dict[int, subprocess.Popen] = {}
        self._stopping = threading.Event()
        threading.Thread(target=self._flush_every_second, daemon=True).start()

    def _flush_every_second(self) -> None:
        while not self._stopping.wait(1.0):
            self.flush_statuses()

    def _seed(self, count: int) -> List[str]:
        with self.sessions() as session:
            seed_registration(session, today_wib(), __import__("random").Random(7))
            session.execute(update(Target).values(status="vaccinated"))  # only ours are invited
            site = session.execute(select(Site)).scalars().first()
            rows, phones = [], []
            for index in range(count):
                phone = f"+62857{index:08d}"
                phones.append(phone.lstrip("+"))
                rows.append({"nik": f"9{index:015d}", "nik_suffix": f"{index:06d}"[-6:], "name": "Nakes Uji",
                             "birth_date": dt.date(1990, 1, 1), "profession": "Perawat",
                             "facility": "Puskesmas Uji", "assigned_site_id": site.id, "phone": phone,
                             "regency": site.regency, "province": site.province, "status": "not_vaccinated"})
            session.execute(insert(Target), rows)
            session.commit()
        return phones

    def _status_of(self, record: dict) -> None:
        with self._status_lock:
            self._statuses += FakeGraphApi.status_events(record, "sent")
            batch = self._statuses if len(self._statuses) >= 100 else None
            if batch:
                self._statuses = []
        if batch:
            self.reports.record(batch)

    def flush_statuses(self) -> None:
        with self._status_lock:
            batch, self._statuses = self._statuses, []
        if batch:
            self.reports.record(batch)

    def environment(self, worker: int) -> Dict[str, str]:
        d = self.delivery
        env = dict(os.environ)
        env.update({
            "NOTIFICATIONS_BROKER_URL": d.broker_url, "NOTIFICATIONS_QUEUE": d.queue_name,
            "NOTIFICATIONS_DATABASE_URL": self.database_url, "NOTIFICATIONS_LIMITS_REDIS_URL": d.limits_redis_url,
            "WHATSAPP_STATE_REDIS_URL": d.state_redis_url, "WHATSAPP_STATE_KEY": d.state_key.decode(),
            "NOTIFICATIONS_SEALING_KEY": d.sealing_key, "WHATSAPP_GRAPH_API_URL": d.graph_api_url,
            "WHATSAPP_PHONE_NUMBER_ID": d.phone_number_id,
            # The fake Graph API tells the workers apart by their token.
            "WHATSAPP_ACCESS_TOKEN": f"test-access-token-w{worker}",
            "NOTIFICATIONS_MESSAGING_TIER": str(d.messaging_tier or "unlimited"),
            "NOTIFICATIONS_WHATSAPP_MESSAGES_PER_SECOND": str(d.messages_per_second),
            "NOTIFICATIONS_PAIR_INTERVAL_SECONDS": str(d.pair_interval_seconds), "PYTHONPATH": PROJECT_ROOT,
        })
        return env

    def start_worker(self, worker: int, threads: int = 8) -> None:
        dramatiq = os.path.join(os.path.dirname(sys.executable), "dramatiq")
        self.workers[worker] = subprocess.Popen(
            [dramatiq, "backends.notifications.worker", "--processes", "1", "--threads", str(threads),
             "--queues", self.delivery.queue_name, f"{self.delivery.queue_name}.DQ"],
            cwd=PROJECT_ROOT, env=self.environment(worker), start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self, worker: int) -> None:
        os.killpg(self.workers[worker].pid, signal.SIGKILL)
        self.workers[worker].wait(timeout=10)

    def sender(self, **changes):
        settings = DeliverySettings(**dict(self.delivery.__dict__, **changes))
        return build_sender(self.sessions, self.service, self.options, settings,
                            cohorts=BackendCohorts.from_settings(self.options))

    def ledger_counts(self) -> Dict[str, int]:
        with self.sessions() as session:
            return dict(session.execute(select(Delivery.status, func.count(Delivery.id))
                                        .group_by(Delivery.status)).all())

    def wait_until_settled(self, timeout: float) -> Dict[str, int]:
        """Until nothing is on its way: no row queued, no request with the Graph API, Meta's status
        recorded for every message it accepted, and every row still `sending` claimed longer ago than
        a worker waits for Meta's answer (its worker died before the request went out: in doubt until
        a resumed run hands it out again). Polls the ledger and the fake, with a deadline."""
        deadline = time.monotonic() + timeout
        answer_within = dt.timedelta(seconds=self.delivery.timeout_seconds + 1)
        while True:
            with self.sessions() as session:
                counts = dict(session.execute(select(Delivery.status, func.count(Delivery.id))
                                              .group_by(Delivery.status)).all())
                sending = session.execute(select(Delivery.id, Delivery.claimed_at)
                                          .where(Delivery.status == "sending")).all()
            with self.graph.lock:
                in_flight = self.graph.in_flight
                accepted = {int(record["callback"].split(":")[1]) for record in self.graph.accepted}
            settled = (not counts.get("queued") and not in_flight
                       and all(row.id not in accepted and utcnow() - row.claimed_at > answer_within
                               for row in sending))
            if settled or time.monotonic() > deadline:
                return counts
            time.sleep(0.2)

    def wait_for_the_in_doubt_grace_period(self) -> None:
        """Until the youngest row in doubt has been so for `in_doubt_seconds`: the resumed run hands
        out only those (a grace period: time-based by definition)."""
        with self.sessions() as session:
            youngest = session.execute(select(func.max(Delivery.claimed_at))
                                       .where(Delivery.status == "sending")).scalar()
        if youngest is not None:
            expires = youngest + dt.timedelta(seconds=self.delivery.in_doubt_seconds + 0.1)
            time.sleep(max(0.0, (expires - utcnow()).total_seconds()))

    def close(self) -> None:
        self._stopping.set()
        for process in self.workers.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.workers.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        self.graph.close()
        channel = self.reports.broker.channel
        for queue in (self.delivery.queue_name, f"{self.delivery.queue_name}.DQ", f"{self.delivery.queue_name}.XQ"):
            try:
                channel.queue_delete(queue)
            except Exception:  # noqa: BLE001 - cleaning up
                pass
        self.reports.close()
        self.engine.dispose()


@pytest.fixture
def postgres_url(postgres_databases):
    """A PostgreSQL database of the test's own, schema at head (tests/service/conftest.py)."""
    from tests.service.conftest import _postgres_url

    name = postgres_databases.take()
    yield _postgres_url(name)
    postgres_databases.give_back(name)


def test_a_worker_killed_halfway_through_10000_recipients_loses_none_and_doubles_none(postgres_url, serve_app):
    stack = QueueStack(postgres_url, serve_app, targets=10_000, in_doubt_seconds=3)
    try:
        # The fake holds the 5,000th message and accepts no other until released: the campaign stands
        # still at 5,000 sent while the worker that sent the held one is killed, however fast it ran.
        stack.graph.hold_at = 5_000
        killed: Dict[str, object] = {}

        def kill_when_halfway() -> None:
            if not stack.graph.held.wait(120):
                return
            held = stack.graph.accepted[4_999]
            victim = int(held["token"].rsplit("-w", 1)[1])
            stack.kill(victim)  # kill -9 while its request is with Meta
            killed.update(held=held, victim=victim, sent=len(stack.graph.accepted))
            stack.graph.release.set()

        killer = threading.Thread(target=kill_when_halfway, daemon=True)
        killer.start()
        stack.start_worker(1)
        stack.start_worker(2)
        summary = stack.sender().send(domain.choose_cohort("invitation", today_wib()))
        # The workers start while the cohort is still being read: sent so far + still queued.
        assert summary.total == 10_000 and summary.sent + summary.queued + summary.failed == 10_000

        killer.join(130)
        assert killed, "the campaign never got halfway"
        held, victim, before_restart = killed["held"], killed["victim"], killed["sent"]
        stack.start_worker(victim)  # the operator restarts it

        stack.wait_until_settled(120)
        stack.wait_for_the_in_doubt_grace_period()
        resumed = stack.sender().send(domain.choose_cohort("invitation", today_wib()))
        assert resumed.skipped_already_sent + resumed.queued == 10_000
        counts = stack.wait_until_settled(120)

        per_recipient = stack.graph.per_recipient()
        assert stack.graph.duplicates() == set(), "someone got the invitation twice"
        assert set(per_recipient) == set(stack.phones), "someone got no invitation"
        assert len(stack.graph.accepted) == 10_000
        assert counts == {"sent": 10_000}, counts
        assert 5_000 <= before_restart < 10_000  # the kill really was mid-campaign
        assert before_restart == 5_000  # the fake let nothing through between the hold and the kill
        with stack.sessions() as session:
            row = session.get(Delivery, int(held["callback"].split(":")[1]))
            assert (row.status, row.attempts) == ("sent", 1)  # settled by Meta's status, not re-sent
    finally:
        stack.close()


def test_four_workers_keep_the_rate_the_tier_and_back_off_together(postgres_url, serve_app):
    rate, tier = 40, 300
    stack = QueueStack(postgres_url, serve_app, targets=400, messages_per_second=rate, messaging_tier=tier)
    try:
        stack.graph.throttle_remaining = 0
        throttle_after = 120

        def throttle_midway(record: dict) -> None:
            if len(stack.graph.accepted) == throttle_after:
                stack.graph.throttle_remaining = 3
        stack.graph.on_accepted = throttle_midway

        # The whole cohort is queued before any worker runs, so what is measured below is the rate
        # of sending alone, not of sending while the producer still reads the cohort.
        summary = stack.sender().send(domain.choose_cohort("invitation", today_wib()))
        # The producer already knows the tier: 300 handed out, 100 wait for tomorrow.
        assert (summary.queued, summary.deferred) == (tier, 400 - tier)
        assert stack.graph.accepted == []
        for worker in range(1, 5):
            stack.start_worker(worker, threads=4)
        counts = stack.wait_until_settled(60)
        assert counts == {"sent": tier, "deferred": 400 - tier}, counts
        times = sorted(record["at"] for record in stack.graph.accepted)
        assert len(times) == tier and stack.graph.duplicates() == set()

        busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
        assert busiest <= rate * 1.1 + 1, f"{busiest} messages in one second at a limit of {rate}/s"
        first_throttle = min(r["at"] for r in stack.graph.refused)
        after = [t for t in times if t > first_throttle]
        assert after and after[0] - first_throttle >= 1.5, "the workers did not pause after 130429"
        assert len({r["token"] for r in stack.graph.accepted}) == 4  # all four took part
    finally:
        stack.close()
