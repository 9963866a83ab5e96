"""HTTP entrypoint of the registration service: `uvicorn --factory backends.registration.api:create_app`."""
from __future__ import annotations

import datetime as dt
from typing import Any, Dict, Iterator, List, Optional
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backends.registration import domain, services
from backends.registration.orm import Appointment, Site, Target
from backends.registration.tickets import ticket_qr_png
from backends.shared.clock import today_wib, utcnow
from backends.shared.database import make_engine, make_session_factory
from privacy.masking import mask_nik
from backends.shared.settings import ServiceSettings, load_settings
from backends.shared.web import ApiError, add_health_route, api_key_dependency, configure_logging, install_error_handlers


class LookupRequest(BaseModel):
    nik_suffix: str = Field(..., max_length=40,
                            description="The last 6 digits of the NIK, as typed (spaces or dashes allowed)")
    verified_phone: Optional[str] = Field(None, max_length=20, description="The sender's number in E.164 as "
                                          "verified by the channel (WhatsApp); never a number the user typed")
    birth_date: Optional[dt.date] = Field(None, description="The second factor where the channel has no "
                                          "verified number")
    full_nik: Optional[str] = Field(None, max_length=40, description="Asked only when the digits and the birth "
                                    "date are still shared")
    requesters: List[str] = Field(default_factory=list, max_items=4, description="Who asks (the conversation, "
                                  "the channel identity): misses are throttled per requester; stored as keyed hashes")


class LookupResponse(BaseModel):
    status: str = Field(..., description="need_second_factor | unverified | none | unique | ambiguous. Without "
                        "a second factor the answer says nothing about the digits.")
    target_id: Optional[int] = None


class SiteOut(BaseModel):
    id: int
    name: str
    address: str
    regency: str
    province: str


class TargetOut(BaseModel):
    id: int
    name: str
    masked_nik: str
    profession: str
    facility: str
    regency: str
    province: str
    status: str
    assigned_site: SiteOut


class SlotOut(BaseModel):
    id: int
    date: dt.date
    session: str
    hours: str
    remaining: int


class ScreeningAdviceOut(BaseModel):
    code: str = Field(..., description="the assistant words it as the response utter_screening_advice_<code>")
    data: Dict[str, Any] = Field(default_factory=dict, description="the figures the advice names")


class ScreeningQuestionOut(BaseModel):
    key: str = Field(..., description="the assistant asks it as the response utter_ask_screening_<key>")
    outcome_if_yes: str = Field(..., description="postponed | consult_doctor")
    advice: ScreeningAdviceOut


class ScreeningRequest(BaseModel):
    answers: Dict[str, bool]


class ScreeningOut(BaseModel):
    outcome: str = Field(..., description="eligible | postponed | consult_doctor")
    may_book: bool
    reasons: List[str]
    advice: List[ScreeningAdviceOut]


class ContactIn(BaseModel):
    channel: str = Field(..., min_length=1, max_length=30, description="Rasa input channel, e.g. whatsapp, rest")
    conversation_id: str = Field(..., min_length=1, max_length=100, description="Rasa sender id")


class BookingRequest(BaseModel):
    target_id: int
    slot_id: int
    screening_answers: Dict[str, bool]
    request_id: str = Field(..., min_length=8, max_length=64, description="Idempotency key chosen by the client")
    contact: Optional[ContactIn] = Field(None, description="The conversation to send the day-before reminder to")


class AppointmentCohortOut(BaseModel):
    appointment_id: int
    date: dt.date
    session: str
    hours: str
    site_name: str
    site_address: str
    contact: Optional[ContactIn] = Field(None, description="Null when the booking came from no conversation")


class HealthWorkerCohortOut(BaseModel):
    target_id: int
    facility: str
    phone: Optional[str] = Field(None, description="E.164; only in the not-yet-booked cohort (to invite)")
    booked_at: Optional[dt.datetime] = None


class AppointmentOut(BaseModel):
    id: int
    status: str
    name: str
    masked_nik: str
    site: SiteOut
    date: dt.date
    session: str
    hours: str
    screening_outcome: str
    ticket_code: str
    ticket_image_url: str


class TicketVerification(BaseModel):
    valid: bool
    appointment: AppointmentOut


class SubmissionRequest(BaseModel):
    nik: str
    name: str
    profession: str
    facility: str
    phone: str
    request_id: str = Field(..., min_length=8, max_length=64)


class FieldCheckRequest(BaseModel):
    field: str = Field(..., description="nik | name | profession | facility | phone")
    value: str = Field(..., max_length=300)


class FieldCheckOut(BaseModel):
    value: str = Field(..., description="The normalized value, as it will be stored")


class SubmissionOut(BaseModel):
    reference: str
    status: str = Field(..., description="pending | validated | rejected")
    created_at: dt.datetime
    outcome: Optional[str] = Field(None, description="On submitting: created | duplicate (the pending submission "
                                   "for this NIK, same phone) | updated (that one, corrected)")


def _advice_out(advice: domain.ScreeningAdvice) -> ScreeningAdviceOut:
    return ScreeningAdviceOut(code=advice.code, data=dict(advice.data))


def _site_out(site: Site) -> SiteOut:
    return SiteOut(id=site.id, name=site.name, address=site.address, regency=site.regency, province=site.province)


def _target_out(target: Target) -> TargetOut:
    return TargetOut(id=target.id, name=target.name, masked_nik=mask_nik(target.nik), profession=target.profession,
                     facility=target.facility, regency=target.regency, province=target.province,
                     status=target.status, assigned_site=_site_out(target.assigned_site))


def create_app(settings: Optional[ServiceSettings] = None) -> FastAPI:
    settings = settings or load_settings("registration")
    configure_logging()
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)

    def session_dependency() -> Iterator[Session]:
        session = session_factory()
        try:
            yield session
        finally:
            session.close()

    def appointment_out(appointment: Appointment) -> AppointmentOut:
        return AppointmentOut(
            id=appointment.id, status=appointment.status, name=appointment.target.name,
            masked_nik=mask_nik(appointment.target.nik), site=_site_out(appointment.site),
            date=appointment.slot.date, session=appointment.slot.session,
            hours=domain.SESSION_HOURS.get(appointment.slot.session, ""),
            screening_outcome=appointment.screening_outcome, ticket_code=appointment.ticket_code,
            ticket_image_url=f"{settings.public_url}/v1/tickets/qr.png?code={quote(appointment.ticket_code)}",
        )

    app = FastAPI(title="Registration service (Sistem Informasi Satu Data Vaksinasi)", version="1.0.0",
                  description="Health-worker vaccination targets, sites, schedules, appointments and data submissions.")
    app.state.settings, app.state.engine = settings, engine
    install_error_handlers(app, domain_errors=(domain.DomainError,))

    add_health_route(app, "registration", engine)
    public = APIRouter(prefix="/v1", tags=["public links"])
    api = APIRouter(prefix="/v1", dependencies=[Depends(api_key_dependency(settings.api_key))])

    @api.post("/targets/lookup", response_model=LookupResponse, tags=["targets"])
    def lookup_target(body: LookupRequest, session: Session = Depends(session_dependency)):
        factor = domain.SecondFactor(body.verified_phone, body.birth_date, body.full_nik)
        match = services.lookup_target(session, settings.signing_key, body.nik_suffix, factor,
                                       [r[:200] for r in body.requesters], utcnow())
        return LookupResponse(status=match.status, target_id=match.target_id)

    @api.get("/targets/{target_id}", response_model=TargetOut, tags=["targets"])
    def get_target(target_id: int, session: Session = Depends(session_dependency)):
        return _target_out(services.get_target(session, target_id))

    @api.get("/targets/{target_id}/appointment", response_model=AppointmentOut, tags=["appointments"])
    def get_active_appointment(target_id: int, session: Session = Depends(session_dependency)):
        appointment = services.active_appointment(session, target_id)
        if appointment is None:
            raise ApiError(404, "no_appointment", detail="The health worker has no active appointment.")
        return appointment_out(appointment)

    @api.get("/sites", response_model=List[SiteOut], tags=["sites"])
    def list_sites(regency: Optional[str] = None, session: Session = Depends(session_dependency)):
        return [_site_out(site) for site in services.list_sites(session, regency)]

    @api.get("/sites/{site_id}", response_model=SiteOut, tags=["sites"])
    def get_site(site_id: int, session: Session = Depends(session_dependency)):
        return _site_out(services.get_site(session, site_id))

    @api.get("/sites/{site_id}/slots", response_model=List[SlotOut], tags=["sites"])
    def list_slots(site_id: int, limit: int = Query(domain.MAX_OFFERED_SLOTS, ge=1, le=20),
                   session: Session = Depends(session_dependency)):
        slots = services.offerable_slots(session, site_id, today_wib(), limit)
        return [SlotOut(id=s.id, date=s.date, session=s.session, hours=domain.SESSION_HOURS[s.session],
                        remaining=s.remaining) for s in slots]

    @api.get("/screening/questions", response_model=List[ScreeningQuestionOut], tags=["screening"])
    def screening_questions():
        return [ScreeningQuestionOut(key=q.key, outcome_if_yes=q.outcome_if_yes, advice=_advice_out(q.advice))
                for q in domain.SCREENING_QUESTIONS]

    @api.post("/screening/evaluate", response_model=ScreeningOut, tags=["screening"])
    def evaluate_screening(body: ScreeningRequest):
        result = domain.evaluate_screening(body.answers)
        return ScreeningOut(outcome=result.outcome, may_book=result.may_book, reasons=list(result.reasons),
                            advice=[_advice_out(advice) for advice in result.advice])

    @api.post("/appointments", response_model=AppointmentOut, status_code=201, tags=["appointments"])
    def book_appointment(body: BookingRequest, session: Session = Depends(session_dependency)):
        contact = services.Contact(body.contact.channel, body.contact.conversation_id) if body.contact else None
        appointment = services.book_appointment(session, settings.signing_key, body.target_id, body.slot_id,
                                                body.screening_answers, body.request_id, contact)
        return appointment_out(appointment)

    @api.get("/cohorts/appointments", response_model=List[AppointmentCohortOut], tags=["cohorts"],
             summary="Booked appointments on a date, with the conversation to remind (notification service)")
    def appointment_cohort(date: dt.date, session: Session = Depends(session_dependency)):
        return [AppointmentCohortOut(
            appointment_id=a.id, date=a.slot.date, session=a.slot.session,
            hours=domain.SESSION_HOURS.get(a.slot.session, ""), site_name=a.site.name, site_address=a.site.address,
            contact=ContactIn(channel=a.contact_channel, conversation_id=a.contact_conversation_id)
            if a.contact_channel and a.contact_conversation_id else None,
        ) for a in services.appointments_on(session, date)]

    @api.get("/cohorts/health-workers", response_model=List[HealthWorkerCohortOut], tags=["cohorts"],
             summary="Health workers on the target list who have (not) booked, a page at a time (invitations)")
    def health_worker_cohort(booked: bool = False, after_id: int = Query(0, ge=0),
                             limit: int = Query(1000, ge=1, le=5000), booked_since: Optional[dt.datetime] = None,
                             session: Session = Depends(session_dependency)):
        return [HealthWorkerCohortOut(target_id=row.target_id, facility=row.facility,
                                      phone=None if booked else row.phone, booked_at=row.booked_at)
                for row in services.health_worker_cohort(session, booked, after_id, limit, booked_since)]

    @api.get("/tickets/verify", response_model=TicketVerification, tags=["appointments"])
    def verify_ticket(code: str, session: Session = Depends(session_dependency)):
        appointment = services.appointment_for_ticket(session, settings.signing_key, code)
        return TicketVerification(valid=True, appointment=appointment_out(appointment))

    @public.get("/tickets/qr.png", response_class=Response,
                responses={200: {"content": {"image/png": {}}}},
                summary="QR image of a ticket (the signed code is the credential, so a chat channel can fetch it)")
    def ticket_image(code: str, session: Session = Depends(session_dependency)):
        appointment = services.appointment_for_ticket(session, settings.signing_key, code)
        return Response(ticket_qr_png(appointment.ticket_code), media_type="image/png",
                        headers={"Cache-Control": "private, max-age=3600"})

    @api.post("/submissions", response_model=SubmissionOut, status_code=201, tags=["submissions"],
              responses={409: {"description": "submission_exists: a pending one for the NIK, another phone"}})
    def create_submission(body: SubmissionRequest, response: Response, session: Session = Depends(session_dependency)):
        result = services.submit_missing_health_worker(session, services.SubmissionInput(**body.dict()))
        if result.outcome != "created":
            response.status_code = 200
        submission = result.submission
        return SubmissionOut(reference=submission.reference, status=submission.status,
                             created_at=submission.created_at, outcome=result.outcome)

    @api.get("/submissions/professions", response_model=List[str], tags=["submissions"],
             summary="The professions a submission may name (the one list; the bot shows it as a menu); "
                     "the last is the catch-all for any other health profession")
    def professions():
        return services.profession_names()

    @api.post("/submissions/check-field", response_model=FieldCheckOut, tags=["submissions"],
              summary="Validate one field while the user types it (same rules as the submission)")
    def check_submission_field(body: FieldCheckRequest, session: Session = Depends(session_dependency)):
        return FieldCheckOut(value=services.check_submission_field(session, body.field, body.value))

    @api.get("/submissions/{reference}", response_model=SubmissionOut, tags=["submissions"])
    def get_submission(reference: str, session: Session = Depends(session_dependency)):
        submission = services.get_submission(session, reference)
        return SubmissionOut(reference=submission.reference, status=submission.status,
                             created_at=submission.created_at)

    app.include_router(api)
    app.include_router(public)
    return app
