"""HTTP entrypoint of the notification service: `uvicorn --factory backends.notifications.api:create_app`.

Opt-out preferences (called by the action server) and campaign runs (called by operators and
tools), all behind X-API-Key. A run is started in the background (202 + run id, poll
`GET /v1/runs/{id}`): a large cohort at the rate limit takes minutes, longer than an HTTP client
should wait. `?wait=true` runs it within the request instead and answers with the summary, for
small cohorts and scripts. Two runs of the same campaign at once are safe: the ledger lets only
one of them claim each recipient.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from contextlib import asynccontextmanager
from typing import Callable, Iterator, List, Optional

from fastapi import APIRouter, Depends, FastAPI, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backends.notifications import domain, services
from backends.notifications.cohorts import BackendCohorts, CohortSource, CohortUnavailable
from backends.notifications.rasa import RasaEvents
from backends.notifications.sender import CampaignSender
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
    dry_run: bool = Field(False, description="Count who would get it; send nothing, claim nothing")


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
    error: Optional[str] = None


class TemplateOut(BaseModel):
    name: str
    intent: str
    description: str


def _run_out(run) -> RunOut:
    summary = services.summary_of(run).as_dict()
    return RunOut(run_id=run.id, status=run.status, error=run.error, **summary)


def create_app(settings: Optional[ServiceSettings] = None, notification_settings: Optional[NotificationSettings] = None,
               cohorts: Optional[CohortSource] = None, rasa: Optional[RasaEvents] = None,
               today: Callable[[], dt.date] = today_wib) -> FastAPI:
    settings = settings or load_settings("notifications")
    options = notification_settings or load_notification_settings()
    configure_logging()
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    sender = CampaignSender(sessions, settings.signing_key, cohorts or BackendCohorts.from_settings(options),
                            rasa or RasaEvents(options.rasa_url, options.rasa_token, options.timeout_seconds),
                            domain.TokenBucket(options.messages_per_second))

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        engine.dispose()

    app = FastAPI(title="Notification service", version="1.0.0", lifespan=lifespan,
                  description="Outbound notifications through Rasa's external events: opt-out, campaigns, runs.")
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
    def templates():
        return [TemplateOut(name=t.name, intent=t.intent, description=t.description)
                for t in domain.TEMPLATES.values()]

    @api.post("/campaigns/{template}/runs", response_model=RunOut, status_code=202, tags=["campaigns"],
              responses={200: {"description": "With ?wait=true: the finished run"}},
              summary="Send a template to its cohort (idempotent per recipient and campaign)")
    def start_run(body: RunRequest, template: str = Path(..., max_length=50),
                  wait: bool = Query(False, description="Run within the request and answer with the summary"),
                  session: Session = Depends(session_dependency)):
        cohort = domain.choose_cohort(template, today(), body.date, body.days)
        run_id = sender.start(cohort, body.dry_run)
        if wait:
            try:
                sender.run(run_id, cohort, body.dry_run)
            except CohortUnavailable:
                raise ApiError(503, "cohort_unavailable",
                               "Data penerima tidak dapat diambil dari layanan sumber. Silakan coba lagi.")
            session.expire_all()
            return JSONResponse(_run_out(services.get_run(session, run_id)).dict(), status_code=200)
        threading.Thread(target=_run_in_background, args=(sender, run_id, cohort, body.dry_run),
                         name=f"campaign-run-{run_id}", daemon=True).start()
        return _run_out(services.get_run(session, run_id))

    @api.get("/runs/{run_id}", response_model=RunOut, tags=["campaigns"], summary="Progress and summary of a run")
    def get_run(run_id: int, session: Session = Depends(session_dependency)):
        return _run_out(services.get_run(session, run_id))

    app.include_router(api)
    return app


def _run_in_background(sender: CampaignSender, run_id: int, cohort: domain.Cohort, dry_run: bool) -> None:
    try:
        sender.run(run_id, cohort, dry_run)
    except Exception:  # noqa: BLE001 - recorded on the run by the sender; a thread must not die loudly
        log.warning("campaign run %s ended with an error", run_id)
