"""HTTP entrypoint of the certificate service: `uvicorn --factory backends.certificate.api:create_app`.

Routes are thin: parse the request, call one function of services.py, shape the answer.
The schema is created by migrations (`python -m backends.manage migrate`), never here.
"""
from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager
from typing import Iterator, List, Literal, Optional

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import Response
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from backends.certificate import services
from backends.certificate.domain import (DOSE_LABELS, ESCALATION_WORKING_DAYS, OTP_TTL, RECOVERY_TICKET_TTL,
                                        SESSION_IDLE, CertificateError, CertificateInvalid)
from backends.certificate.sms import OutboxGateway, make_gateway
from backends.shared.clock import utcnow
from backends.shared.database import make_engine, make_session_factory
from backends.shared.identity import normalize_phone
from backends.shared.settings import ServiceSettings, load_settings
from backends.shared.web import (add_health_route, api_key_dependency, configure_logging,
                                 install_error_handlers)

SESSION_HEADER = "X-Session-Token"
_session_token = APIKeyHeader(name=SESSION_HEADER, auto_error=False, scheme_name="SessionToken",
                              description="Token dari POST /v1/otp/verify; berlaku 15 menit sejak terakhir dipakai.")

# --- Request and response models ---------------------------------------------------------------


class OtpRequestBody(BaseModel):
    phone: str = Field(..., max_length=30, example="081234567890")
    purpose: Literal["login", "change_phone", "recovery"] = Field(
        "login", description="change_phone needs X-Session-Token; recovery needs recovery_ticket")
    recovery_ticket: Optional[str] = Field(None, max_length=2000, description="From POST /v1/recovery/check")
    deadline: Optional[float] = Field(None, description="Unix time after which the caller no longer waits: "
                                                        "a request still unsent then sends nothing (504)")
    requesters: List[str] = Field(default_factory=list, max_items=4,
                                  description="Who asks (the conversation, the channel identity): codes are "
                                              "limited per requester and number, per requester, and per number")


class OtpVerifyBody(BaseModel):
    phone: str = Field(..., max_length=30, example="081234567890")
    code: str = Field(..., max_length=12, example="123456")


class OtpRequestOut(BaseModel):
    """The same for every number: it never says whether the number is registered."""

    expires_in_seconds: int = Field(..., description="How long a code sent now stays valid")


class TokenOut(BaseModel):
    token: str
    expires_in_seconds: int = Field(..., description="Idle lifetime; every use restarts it")


class ProfileOut(BaseModel):
    nik_masked: str
    name: str
    phone_masked: str


class DoseOut(BaseModel):
    dose: int
    label: str
    date: dt.date
    brand: str
    site: str
    certificate_issued: bool


class VaccinationsOut(BaseModel):
    doses: List[DoseOut]


class LinkOut(BaseModel):
    url: str
    expires_at: dt.datetime


class NamePreviewBody(BaseModel):
    name: str = Field(..., max_length=200)


class NameChangeBody(BaseModel):
    name: str = Field(..., max_length=200)
    request_id: str = Field(..., min_length=1, max_length=64, description="Idempotency key chosen by the client")
    channel: str = Field(..., min_length=1, max_length=20, example="whatsapp")


class PhoneChangeBody(BaseModel):
    phone: str = Field(..., max_length=30, description="The new number, which received the OTP")
    code: str = Field(..., max_length=12)
    request_id: str = Field(..., min_length=1, max_length=64)
    channel: str = Field(..., min_length=1, max_length=20, example="whatsapp")


class ChangeOut(BaseModel):
    old: str = Field(..., description="Previous value: masked as in the audit log (in clear in a preview)")
    new: str


class EscalationBody(BaseModel):
    kind: Literal["nik_correction", "missing_dose", "other"]
    note: str = Field(..., min_length=1, max_length=1000)
    request_id: str = Field(..., min_length=1, max_length=64)


class EscalationOut(BaseModel):
    reference: str
    working_days: int = Field(..., description="When an officer answers, through the registered number")


class RecoveryCheckBody(BaseModel):
    nik: str = Field(..., max_length=40, description="The full 16-digit NIK")
    birth_date: dt.date
    name: str = Field(..., max_length=200, description="The name printed on the certificate")
    requesters: List[str] = Field(default_factory=list, max_items=4,
                                  description="Who asks: failed checks are limited per NIK and per requester")


class RecoveryTicketOut(BaseModel):
    ticket: str
    expires_in_seconds: int


class RecoveryOpenBody(BaseModel):
    ticket: str = Field(..., max_length=2000)
    phone: str = Field(..., max_length=30, description="The new number, which received the recovery OTP")
    code: str = Field(..., max_length=12)
    request_id: str = Field(..., min_length=1, max_length=64)
    channel: str = Field(..., min_length=1, max_length=20, example="whatsapp")


class RecoveryOut(BaseModel):
    reference: str
    status: Literal["pending", "approved", "rejected"]
    created_at: dt.datetime
    expected_by: dt.date = Field(..., description="The last working day an officer's decision is expected")
    decided_at: Optional[dt.datetime] = None
    existing: bool = Field(False, description="An earlier pending request of the same account, answered again")


class RecoveryOpenedOut(RecoveryOut):
    new_phone_masked: str


class RecoveryDecisionBody(BaseModel):
    decision: Literal["approve", "reject"]
    officer: str = Field(..., min_length=1, max_length=100)


class CertificateCheckOut(BaseModel):
    valid: bool
    number: Optional[str] = None
    dose: Optional[int] = None
    label: Optional[str] = None
    date: Optional[dt.date] = None
    nik_masked: Optional[str] = None
    reason: Optional[str] = Field(None, description="Why not valid (an error code)")


class OutboxMessageOut(BaseModel):
    phone: str
    text: str
    sent_at: dt.datetime


class ContactOut(BaseModel):
    channel: str
    conversation_id: str


class SecondDoseDueOut(BaseModel):
    first_dose_date: dt.date
    brand: str
    contact: ContactOut = Field(..., description="WhatsApp: the registered number as wa_id (E.164 without +)")


# --- Dependencies --------------------------------------------------------------------------------

def _db(request: Request) -> Iterator[Session]:
    with request.app.state.sessions() as session:
        yield session


def _key(request: Request) -> bytes:
    return request.app.state.settings.signing_key


# --- Routes --------------------------------------------------------------------------------------

def _otp_routes(router: APIRouter) -> None:
    @router.post("/otp/request", status_code=202, response_model=OtpRequestOut, tags=["login"],
                 summary="Send a one-time code by SMS (same answer for unknown numbers)")
    def request_otp(body: OtpRequestBody, request: Request, db: Session = Depends(_db),
                    token: Optional[str] = Depends(_session_token)) -> OtpRequestOut:
        services.request_otp(db, request.app.state.gateway, _key(request), body.phone, body.purpose, utcnow(),
                             token=token, deadline=body.deadline, requesters=body.requesters,
                             recovery_ticket=body.recovery_ticket)
        return OtpRequestOut(expires_in_seconds=int(OTP_TTL.total_seconds()))

    @router.post("/otp/verify", response_model=TokenOut, tags=["login"], summary="Exchange the code for a token")
    def verify_otp(body: OtpVerifyBody, request: Request, db: Session = Depends(_db)) -> TokenOut:
        token = services.verify_otp(db, _key(request), body.phone, body.code, utcnow())
        return TokenOut(token=token, expires_in_seconds=int(SESSION_IDLE.total_seconds()))


def _me_routes(router: APIRouter) -> None:
    @router.delete("/me/session", status_code=204, tags=["me"], summary="End the verification (idempotent)")
    def end_session(request: Request, db: Session = Depends(_db),
                    token: Optional[str] = Depends(_session_token)) -> Response:
        services.end_session(db, _key(request), token)
        return Response(status_code=204)

    @router.get("/me", response_model=ProfileOut, tags=["me"], summary="The verified person, masked")
    def me(request: Request, db: Session = Depends(_db), token: Optional[str] = Depends(_session_token)):
        return ProfileOut(**services.profile(db, _key(request), token, utcnow()).__dict__)

    @router.get("/me/vaccinations", response_model=VaccinationsOut, tags=["me"], summary="Recorded doses")
    def vaccinations(request: Request, db: Session = Depends(_db), token: Optional[str] = Depends(_session_token)):
        doses = services.vaccination_status(db, _key(request), token, utcnow())
        return VaccinationsOut(doses=[DoseOut(**d.__dict__) for d in doses])

    @router.post("/me/certificates/{dose}/link", response_model=LinkOut, tags=["me"],
                 summary="A download link valid for 10 minutes")
    def certificate_link(request: Request, dose: int = Path(..., ge=1, le=max(DOSE_LABELS)),
                         db: Session = Depends(_db), token: Optional[str] = Depends(_session_token)) -> LinkOut:
        settings = request.app.state.settings
        url, expires_at = services.certificate_link(db, settings.signing_key, token, dose, utcnow(),
                                                    settings.public_url)
        return LinkOut(url=url, expires_at=expires_at.replace(tzinfo=dt.timezone.utc))

    @router.post("/me/name/preview", response_model=ChangeOut, tags=["me"],
                 summary="Validate a new name and show old -> new before the user confirms")
    def preview_name_change(body: NamePreviewBody, request: Request, db: Session = Depends(_db),
                            token: Optional[str] = Depends(_session_token)) -> ChangeOut:
        change = services.preview_name_change(db, _key(request), token, body.name, utcnow())
        return ChangeOut(old=change.old, new=change.new)

    @router.put("/me/name", response_model=ChangeOut, tags=["me"], summary="Correct the name on certificates")
    def change_name(body: NameChangeBody, request: Request, db: Session = Depends(_db),
                    token: Optional[str] = Depends(_session_token)) -> ChangeOut:
        change = services.change_name(db, _key(request), token, body.name, body.request_id, body.channel, utcnow())
        return ChangeOut(old=change.old, new=change.new)

    @router.put("/me/phone", response_model=ChangeOut, tags=["me"],
                summary="Move the account to a new number (OTP from /v1/otp/request with purpose change_phone)")
    def change_phone(body: PhoneChangeBody, request: Request, db: Session = Depends(_db),
                     token: Optional[str] = Depends(_session_token)) -> ChangeOut:
        change = services.change_phone(db, request.app.state.gateway, _key(request), token, body.phone, body.code,
                                       body.request_id, body.channel, utcnow())
        return ChangeOut(old=change.old, new=change.new)

    @router.post("/me/escalations", status_code=201, response_model=EscalationOut, tags=["me"],
                 summary="Report data only an officer can correct (e.g. a wrong NIK)")
    def escalate(body: EscalationBody, request: Request, db: Session = Depends(_db),
                 token: Optional[str] = Depends(_session_token)) -> EscalationOut:
        reference = services.escalate(db, _key(request), token, body.kind, body.note, body.request_id, utcnow())
        return EscalationOut(reference=reference, working_days=ESCALATION_WORKING_DAYS)


def _certificate_routes(router: APIRouter, public: APIRouter) -> None:
    @router.get("/certificates/verify", response_model=CertificateCheckOut, tags=["certificates"],
                summary="Check the payload scanned from a certificate's QR code")
    def verify_certificate(request: Request, payload: str = Query(..., max_length=2000),
                           db: Session = Depends(_db)) -> CertificateCheckOut:
        try:
            document = services.verify_certificate_payload(db, _key(request), payload)
        except CertificateInvalid as error:
            return CertificateCheckOut(valid=False, reason=error.code)
        return CertificateCheckOut(valid=True, number=document.number, dose=document.dose, label=document.dose_label,
                                   date=document.date, nik_masked=document.nik_masked)

    # No API key: the signed, short-lived token is the credential, so a messaging server can fetch the file.
    @public.get("/certificates/download", response_class=Response, tags=["certificates"],
                responses={200: {"content": {"image/png": {}}, "description": "The certificate as PNG"}},
                summary="Download a certificate with a link from /v1/me/certificates/{dose}/link")
    def download_certificate(request: Request, token: str = Query(..., max_length=2000),
                             db: Session = Depends(_db)) -> Response:
        document, png = services.render_certificate_from_link(db, _key(request), token, utcnow())
        return Response(png, media_type="image/png", headers={
            "Content-Disposition": f'inline; filename="sertifikat-{document.number}.png"',
            "Cache-Control": "no-store",
        })


def _recovery_out(status: services.RecoveryStatus) -> RecoveryOut:
    """A request's status for anyone holding the reference: without the (masked) new number."""
    return RecoveryOut(**{k: v for k, v in status.__dict__.items() if k != "new_phone_masked"})


def _recovery_routes(router: APIRouter, officers: APIRouter) -> None:
    @router.post("/recovery/check", response_model=RecoveryTicketOut, tags=["recovery"],
                 summary="Check full NIK, birth date and the certificate's name (one refusal for any mismatch)")
    def check_facts(body: RecoveryCheckBody, request: Request, db: Session = Depends(_db)) -> RecoveryTicketOut:
        ticket = services.check_recovery_facts(db, _key(request), body.nik, body.birth_date, body.name,
                                               body.requesters, utcnow())
        return RecoveryTicketOut(ticket=ticket, expires_in_seconds=int(RECOVERY_TICKET_TTL.total_seconds()))

    @router.post("/recovery/requests", status_code=201, response_model=RecoveryOpenedOut, tags=["recovery"],
                 summary="Queue the move to a new number (code from /v1/otp/request, purpose recovery)")
    def open_recovery(body: RecoveryOpenBody, request: Request, db: Session = Depends(_db)) -> RecoveryOpenedOut:
        status = services.open_recovery(db, request.app.state.gateway, _key(request), body.ticket, body.phone,
                                        body.code, body.request_id, body.channel, utcnow())
        return RecoveryOpenedOut(**status.__dict__)

    @router.get("/recovery/requests/{reference}", response_model=RecoveryOut, tags=["recovery"],
                summary="A request's status by its reference (no personal data)")
    def recovery_status(request: Request, db: Session = Depends(_db),
                        reference: str = Path(..., max_length=20)) -> RecoveryOut:
        return _recovery_out(services.recovery_status(db, reference))

    @officers.post("/recovery/requests/{reference}/decision", response_model=RecoveryOut, tags=["officers"],
                   summary="An officer approves (the account moves) or rejects a request")
    def decide(body: RecoveryDecisionBody, request: Request, db: Session = Depends(_db),
               reference: str = Path(..., max_length=20)) -> RecoveryOut:
        return _recovery_out(services.decide_recovery(db, request.app.state.gateway, reference, body.decision,
                                                      body.officer, utcnow()))


def _cohort_routes(router: APIRouter) -> None:
    @router.get("/cohorts/second-dose-due", response_model=List[SecondDoseDueOut], tags=["cohorts"],
                summary="People whose first dose was on a date and who have no second dose (notification service)")
    def second_dose_due(first_dose_date: dt.date, db: Session = Depends(_db)) -> List[SecondDoseDueOut]:
        # WhatsApp's conversation id (wa_id) is the number in E.164 without "+" (channels/whatsapp.py).
        return [SecondDoseDueOut(first_dose_date=p.first_dose_date, brand=p.brand,
                                 contact=ContactOut(channel="whatsapp", conversation_id=p.phone.lstrip("+")))
                for p in services.second_dose_due(db, first_dose_date)]


def _dev_routes(app: FastAPI, require_key) -> None:
    @app.get("/dev/outbox", response_model=List[OutboxMessageOut], tags=["development"],
             dependencies=[Depends(require_key)], summary="SMS sent by the in-memory gateway (development only)")
    def outbox(request: Request, phone: Optional[str] = Query(None, max_length=30)) -> List[OutboxMessageOut]:
        gateway = request.app.state.gateway
        if not isinstance(gateway, OutboxGateway):
            return []
        wanted = normalize_phone(phone) if phone else None  # a bad number: 422 with the rule's reason
        return [OutboxMessageOut(**m.__dict__) for m in gateway.messages(wanted)]


# --- Application ---------------------------------------------------------------------------------

def create_app(settings: Optional[ServiceSettings] = None) -> FastAPI:
    settings = settings or load_settings("certificate")
    configure_logging()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        engine.dispose()

    app = FastAPI(title="PeduliLindungi – layanan sertifikat vaksinasi", version="1.0.0", lifespan=lifespan,
                  description="Status vaksinasi dan sertifikat COVID-19 setelah verifikasi nomor HP dengan OTP.")
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = make_session_factory(engine)
    app.state.gateway = make_gateway(settings)
    install_error_handlers(app, domain_errors=(CertificateError,))
    add_health_route(app, "certificate", engine)

    require_key = api_key_dependency(settings.api_key)
    protected = APIRouter(prefix="/v1", dependencies=[Depends(require_key)])
    public = APIRouter(prefix="/v1")
    # The officers' key, not the assistant's: a chat can open a recovery, never decide one.
    officers = APIRouter(prefix="/v1/officer", dependencies=[Depends(api_key_dependency(settings.officer_api_key))])
    _otp_routes(protected)
    _me_routes(protected)
    _certificate_routes(protected, public)
    _recovery_routes(protected, officers)
    _cohort_routes(protected)
    app.include_router(protected)
    app.include_router(officers)
    app.include_router(public)
    if settings.development:
        _dev_routes(app, require_key)
    return app
