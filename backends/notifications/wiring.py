"""Builds the sender (a campaign run) and the delivery worker (one message) from the configuration,
for the command, the HTTP service, the scheduler and the queue workers alike."""
from __future__ import annotations

from typing import Optional

from sqlalchemy.orm import sessionmaker

from backends.notifications.settings import DeliverySettings, load_delivery_settings
from backends.shared.settings import NotificationSettings, ServiceSettings, load_notification_settings, load_settings


def build_delivery_worker(sessions: sessionmaker, settings: Optional[DeliverySettings] = None, queue=None,
                          options: Optional[NotificationSettings] = None, limits=None, state=None, sms=None,
                          rasa=None):
    from backends.certificate.sms import HttpSmsGateway, OutboxGateway
    from backends.notifications.delivery import DeliveryWorker
    from backends.notifications.domain import TokenBucket
    from backends.notifications.limits import make_limits
    from backends.notifications.rasa import RasaEvents
    from backends.notifications.sealing import Sealer
    from channels.whatsapp_cloud_api import CloudApiSession
    from channels.whatsapp_window import conversation_state

    settings = settings or load_delivery_settings()
    options = options or load_notification_settings()
    if sms is None:
        use_http = settings.sms_gateway == "http" and settings.sms_gateway_url
        sms = HttpSmsGateway(settings.sms_gateway_url, settings.sms_gateway_token) if use_http else OutboxGateway()
    whatsapp = CloudApiSession(settings.graph_api_url, settings.phone_number_id, settings.access_token,
                               timeout_seconds=settings.timeout_seconds)
    return DeliveryWorker(
        sessions, Sealer(settings.sealing_key), whatsapp=whatsapp, sms=sms,
        rasa=rasa or RasaEvents(options.rasa_url, options.rasa_token, options.timeout_seconds),
        limits=limits or make_limits(settings),
        state=state if state is not None else conversation_state(settings.state_redis_url, settings.state_key),
        queue=queue, rasa_limiter=TokenBucket(options.messages_per_second), max_attempts=settings.max_attempts,
        pair_interval_seconds=settings.pair_interval_seconds)


def build_sender(sessions: sessionmaker, service: Optional[ServiceSettings] = None,
                 options: Optional[NotificationSettings] = None, settings: Optional[DeliverySettings] = None,
                 cohorts=None, rasa=None, sms=None):
    """The campaign sender: with NOTIFICATIONS_BROKER_URL, it queues for the workers; without, it
    sends in this process (`InlineQueue`) through the same DeliveryWorker."""
    from backends.notifications.cohorts import BackendCohorts
    from backends.notifications.limits import make_limits
    from backends.notifications.queue import BrokerQueue, InlineQueue
    from backends.notifications.sealing import Sealer
    from backends.notifications.sender import CampaignSender
    from channels.whatsapp_window import conversation_state

    service = service or load_settings("notifications")
    options = options or load_notification_settings()
    settings = settings or load_delivery_settings()
    limits = make_limits(settings)
    state = conversation_state(settings.state_redis_url, settings.state_key)
    if settings.broker_url:
        queue = BrokerQueue.from_url(settings.broker_url, settings.queue_name)
    else:
        queue = InlineQueue(None)
        queue.worker = build_delivery_worker(sessions, settings, queue, options, limits, state, sms, rasa)
    return CampaignSender(sessions, service.signing_key, cohorts or BackendCohorts.from_settings(options), queue,
                          Sealer(settings.sealing_key), limits=limits, state=state,
                          in_doubt_seconds=settings.in_doubt_seconds)
