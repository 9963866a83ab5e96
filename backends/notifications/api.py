"""HTTP entrypoint of the notification service: `uvicorn --factory backends.notifications.api:create_app`.

Opt-out preferences (called by the action server), campaign runs and their funnels (called by
operators and tools), and delivery reports (called by the WhatsApp channel when no broker is
configured), all behind X-API-Key. A run is started in the background (202 + run id, poll
`GET /v1/runs/{id}`): reading a national cohort takes minutes. `?wait=true` runs it within the
request instead and answers with the summary, for small cohorts and scripts. Two runs of the same
campaign at once are safe: the ledger lets only one of them claim each recipient.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from contextlib import asynccontextmanager
from typing import Any, Callable, Dict, Iterator, List, Optional

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backends.notifications import domain, services, templates
from backends.notifications.cohorts import CohortSource, CohortUnavailable
from backends.notifications.rasa import RasaEvents
from backends.notifications.sender import CampaignSender
from backends.notifications.settings import DeliverySettings
from backends.notifications.wiring import build_delivery_worker, build_sender
from backends.shared.clock import today_wib
from backends.shared.database import make_engine, make_session_factory
from backends.shared.errors import DomainError
from backends.shared.settings import (NotificationSettings, ServiceSettings, load_notification_settings,
                                      load_settings)
from backends.shared.web import (ApiError, add_health_route, api_key_dependency, configure_logging,
                                 install_error_handlers)

log = logging.getLogger(__name__)


class ContactBody(BaseModel):
    channel: str = Field(..., min_length=1, max_length=30, example="whatsapp")
    conversation_id: str = Field(..., min_length=1, max_length=100, description="Rasa's sender id")


class PreferenceOut(BaseModel):
    opted_out: bool


class RunRequest(BaseModel):
    date: Optional[dt.date] = Field(None, description="appointment_tomorrow: the appointment date "
                                                      "(default tomorrow, WIB)")
    days: Optional[int] = Field(None, description="second_dose_due: days since the first dose (default 28)")
    round: Optional[str] = Field(None, max_length=40, description="invitation: the invitation round (default 1)")
    dry_run: bool = Field(False, description="Count who would get it; send nothing, claim nothing")


class FunnelOut(BaseModel):
    campaign_id: str
    recipients: int
    pending: int = Field(..., description="queued, being sent, or deferred by the messaging tier")
    sent: int
    delivered: int
    read: int
    failed: int = Field(..., description="WhatsApp could not deliver (an SMS may have followed)")
    sms_fallback: int
    replied: int
    registered: Optional[int] = Field(None, description="invitations: booked after the message")


class DeliveryEventsIn(BaseModel):
    events: List[Dict[str, Any]] = Field(..., max_items=1000)


class RunOut(BaseModel):
    run_id: int
    status: str = Field(..., description="running | finished | error")
    campaign_id: str
    dry_run: bool
    total: int
    sent: int
    would_send: int
    skipped: int
    skipped_opted_out: int
    skipped_already_sent: int
    skipped_no_contact: int
    failed: int
    queued: int = Field(0, description="handed to the workers and not settled yet")
    deferred: int = Field(0, description="waiting for room in the messaging tier (run again later)")
    would_send_template: Optional[int] = Field(None, description="dry run: template messages (what they cost)")
    would_send_text: Optional[int] = Field(None, description="dry run: free-form, inside the 24-hour window")
    would_send_other_channel: Optional[int] = Field(None, description="dry run: web chat and other channels")
    funnel: Optional[FunnelOut] = None
    error: Optional[str] = None


class TemplateOut(BaseModel):
    name: str
    intent: str
    description: str
    whatsapp_template: str = Field(..., description="the approved template's name at Meta")
    category: str
    parameters: List[str]
    quick_replies: List[str]
    sms_fallback: bool


def _run_out(run, progress=None, funnel: Optional[domain.Funnel] = None, summary=None) -> RunOut:
    summary = summary or services.summary_of(run, progress)
    extra = {}
    if summary.dry_run:
        extra = {"would_send_template": summary.would_send_template, "would_send_text": summary.would_send_text,
                 "would_send_other_channel": summary.would_send_other_channel}
    return RunOut(run_id=run.id, status=run.status, error=run.error, funnel=FunnelOut(**funnel.as_dict())
                  if funnel else None, **summary.as_dict(), **extra)


def create_app(settings: Optional[ServiceSettings] = None, notification_settings: Optional[NotificationSettings] = None,
               cohorts: Optional[CohortSource] = None, rasa: Optional[RasaEvents] = None,
               today: Callable[[], dt.date] = today_wib, delivery_settings: Optional[DeliverySettings] = None,
               sms=None) -> FastAPI:
    settings = settings or load_settings("notifications")
    options = notification_settings or load_notification_settings()
    configure_logging()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    sender = build_sender(sessions, settings, options, delivery_settings, cohorts, rasa, sms)
    reports = build_delivery_worker(sessions, delivery_settings, sender.queue, options, sender.limits,
                                    sender.state, sms, rasa)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        engine.dispose()

    app = FastAPI(title="Notification service", version="2.0.0", lifespan=lifespan,
                  description="Outbound notifications: WhatsApp templates (SMS fallback) and Rasa's external "
                              "events; opt-out, campaigns, runs, funnels, delivery reports.")
    app.state.settings, app.state.engine, app.state.sender = settings, engine, sender
    install_error_handlers(app, domain_errors=(DomainError,))
    add_health_route(app, "notifications", engine)
    api = APIRouter(prefix="/v1", dependencies=[Depends(api_key_dependency(settings.api_key))])

    def session_dependency() -> Iterator[Session]:
        with sessions() as session:
            yield session

    @api.post("/preferences/opt-out", response_model=PreferenceOut, tags=["preferences"],
              summary="Stop notifications to a conversation (STOP)")
    def opt_out(body: ContactBody, session: Session = Depends(session_dependency)):
        return PreferenceOut(opted_out=services.set_opted_out(session, settings.signing_key, body.channel,
                                                              body.conversation_id, True))

    @api.post("/preferences/opt-in", response_model=PreferenceOut, tags=["preferences"],
              summary="Resume notifications to a conversation")
    def opt_in(body: ContactBody, session: Session = Depends(session_dependency)):
        return PreferenceOut(opted_out=services.set_opted_out(session, settings.signing_key, body.channel,
                                                              body.conversation_id, False))

    @api.get("/templates", response_model=List[TemplateOut], tags=["campaigns"])
    def list_templates():
        out = []
        for campaign in domain.CAMPAIGNS.values():
            template = templates.get(campaign.template)
            out.append(TemplateOut(name=campaign.name, intent=campaign.intent, description=campaign.description,
                                   whatsapp_template=template.meta_name, category=template.category,
                                   parameters=list(template.parameters),
                                   quick_replies=[b.text for b in template.buttons],
                                   sms_fallback=template.has_sms_fallback))
        return out

    @api.post("/campaigns/{template}/runs", response_model=RunOut, status_code=202, tags=["campaigns"],
              responses={200: {"description": "With ?wait=true: the finished run"}},
              summary="Send a template to its cohort (idempotent per recipient and campaign)")
    def start_run(body: RunRequest, template: str = Path(..., max_length=50),
                  wait: bool = Query(False, description="Run within the request and answer with the summary"),
                  session: Session = Depends(session_dependency)):
        cohort = domain.choose_cohort(template, today(), body.date, body.days, body.round)
        run_id = sender.start(cohort, body.dry_run)
        if wait:
            try:
                summary = sender.run(run_id, cohort, body.dry_run)
            except CohortUnavailable:
                raise ApiError(503, "cohort_unavailable",
                               detail="The service that lists the recipients did not answer; try again.")
            session.expire_all()
            funnel = None if body.dry_run else sender.funnel(cohort.template, cohort.campaign_id)
            return JSONResponse(_run_out(services.get_run(session, run_id), funnel=funnel, summary=summary).dict(),
                                status_code=200)
        threading.Thread(target=_run_in_background, args=(sender, run_id, cohort, body.dry_run),
                         name=f"campaign-run-{run_id}", daemon=True).start()
        return _run_out(services.get_run(session, run_id))

    @api.get("/runs/{run_id}", response_model=RunOut, tags=["campaigns"],
             summary="Progress and summary of a run, with its campaign's funnel")
    def get_run(run_id: int, session: Session = Depends(session_dependency)):
        run = services.get_run(session, run_id)
        if run.dry_run:
            return _run_out(run)
        campaign = domain.template(run.template)
        return _run_out(run, services.run_progress(session, run_id), sender.funnel(campaign, run.campaign_id))

    @api.get("/campaigns/{campaign_id}/funnel", response_model=FunnelOut, tags=["campaigns"],
             summary="Sent, delivered, read, failed, replied (and registered afterwards, for invitations)")
    def campaign_funnel(campaign_id: str = Path(..., max_length=100, example="invitation:1")):
        campaign = domain.template(campaign_id.split(":", 1)[0])
        return FunnelOut(**sender.funnel(campaign, campaign_id).as_dict())

    @api.post("/delivery-events", status_code=204, tags=["delivery reports"],
              summary="Meta's status updates and the replies, from the WhatsApp channel (no broker configured)")
    def delivery_events(body: DeliveryEventsIn):
        reports.record_events(body.events)

    app.include_router(api)
    return app


def _run_in_background(sender: CampaignSender, run_id: int, cohort: domain.Cohort, dry_run: bool) -> None:
    try:
        sender.run(run_id, cohort, dry_run)
    except Exception:  # noqa: BLE001 - recorded on the run by the sender; a thread must not die loudly
        log.warning("campaign run %s ended with an error", run_id)
