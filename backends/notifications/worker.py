"""The notification workers: `dramatiq backends.notifications.worker --processes 1 --threads 8`
(process `notify-worker` in the Procfile; run as many as you like, on as many machines).

Each task is one ledger row id (`deliver_notification`) or one batch of delivery reports from the
webhook (`record_delivery_events`). A task is acknowledged only after it ran: a worker killed
mid-campaign loses nothing, RabbitMQ gives its unacknowledged tasks to the other workers, and the
ledger's conditional moves make a task that arrives twice a no-op.

Configuration: NOTIFICATIONS_BROKER_URL (required here), and backends/notifications/settings.py.
"""
from __future__ import annotations

import functools
import logging
import os

import dramatiq

from backends.notifications import queue as queues
from backends.notifications.settings import load_delivery_settings
from backends.notifications.wiring import build_delivery_worker

log = logging.getLogger(__name__)


_settings = load_delivery_settings()
if _settings.broker_url:
    broker = queues.make_broker(_settings.broker_url)
    dramatiq.set_broker(broker)
else:  # imported without a broker (tests, tools): actors exist, nothing consumes them
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    dramatiq.set_broker(broker)


@functools.lru_cache(maxsize=None)
def _runtime():
    from backends.shared.web import configure_logging

    configure_logging()
    queue = queues.BrokerQueue(broker, _settings.queue_name)
    log.info("notification worker %s ready (queue %s)", os.getpid(), _settings.queue_name)
    from backends.shared.database import make_engine, make_session_factory
    from backends.shared.settings import load_settings

    sessions = make_session_factory(make_engine(load_settings("notifications").database_url))
    return build_delivery_worker(sessions, _settings, queue=queue)


# Retries (with Dramatiq's back-off) are for the unexpected, e.g. the database restarting; Meta's
# refusals are handled by the worker itself, through the ledger.
@dramatiq.actor(actor_name=queues.DELIVER_ACTOR, queue_name=_settings.queue_name, max_retries=20,
                min_backoff=1000, max_backoff=300_000, time_limit=600_000)
def deliver_notification(delivery_id: int) -> None:
    _runtime().deliver(int(delivery_id))


@dramatiq.actor(actor_name=queues.EVENTS_ACTOR, queue_name=_settings.queue_name, max_retries=20,
                min_backoff=1000, max_backoff=300_000)
def record_delivery_events(events: list) -> None:
    _runtime().record_events(events)
