"""The task queue: Dramatiq over RabbitMQ (or Redis), or no queue at all for `make run`.

Why Dramatiq (measured against Celery, docs/notifications.md "Choosing the task queue"): it
installs with Rasa 3.6's pins (Celery 5.7 cannot: it needs python-dateutil 2.9, Rasa <2.9), adds
two packages instead of nine, acknowledges a message only after the task ran (a worker killed
with -9 loses nothing: RabbitMQ hands its messages to another), and moved our benchmark's tasks
faster with less memory per worker.

Messages carry ledger row ids only: the recipient's number stays sealed in the ledger.
"""
from __future__ import annotations

import logging
from typing import Iterable, Optional, Protocol

import dramatiq

# pika logs every connection step at INFO; the workers' own lines are what operators need.
logging.getLogger("pika").setLevel(logging.WARNING)

DELIVER_ACTOR = "deliver_notification"
EVENTS_ACTOR = "record_delivery_events"


def make_broker(url: str):
    """A broker for NOTIFICATIONS_BROKER_URL: amqp://… (RabbitMQ, publisher confirms on) or redis://…"""
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(url=url)
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    # Confirmed publishing: a run that says "queued" has its messages on the broker's disk.
    return RabbitmqBroker(url=url, confirm_delivery=True)


class DeliveryQueue(Protocol):
    def deliver(self, delivery_ids: Iterable[int], delay_seconds: Optional[float] = None) -> None:
        ...

    def record(self, events: list) -> None:
        ...


class BrokerQueue:
    """Hands work to the workers (`dramatiq backends.notifications.worker`), in any process."""

    def __init__(self, broker, queue_name: str = "notifications"):
        self.broker, self.queue_name = broker, queue_name
        broker.declare_queue(queue_name)

    @classmethod
    def from_url(cls, url: str, queue_name: str = "notifications") -> "BrokerQueue":
        return cls(make_broker(url), queue_name)

    def deliver(self, delivery_ids: Iterable[int], delay_seconds: Optional[float] = None) -> None:
        delay = int(delay_seconds * 1000) if delay_seconds else None
        for delivery_id in delivery_ids:
            self.broker.enqueue(self._message(DELIVER_ACTOR, (int(delivery_id),)), delay=delay)

    def record(self, events: list) -> None:
        self.broker.enqueue(self._message(EVENTS_ACTOR, (events,)))

    def _message(self, actor: str, args: tuple) -> dramatiq.Message:
        return dramatiq.Message(queue_name=self.queue_name, actor_name=actor, args=args, kwargs={},
                                options={})

    def close(self) -> None:
        self.broker.close()


class InlineQueue:
    """No broker (`make run`, small deployments): the caller's process does the work at once,
    with the same code the workers run. A delayed retry waits in place."""

    def __init__(self, worker, sleep=None):
        import time

        self.worker, self.sleep = worker, sleep or time.sleep

    def deliver(self, delivery_ids: Iterable[int], delay_seconds: Optional[float] = None) -> None:
        if delay_seconds:
            self.sleep(delay_seconds)
        for delivery_id in list(delivery_ids):
            self.worker.deliver(int(delivery_id))

    def record(self, events: list) -> None:
        self.worker.record_events(events)

    def close(self) -> None:
        return None
