"""WhatsApp notifications over HTTP: the 24-hour window rule, Meta's status reports and the funnel,
the invitation with its PEDULICOVID SMS fallback (never both), registrations afterwards, replies,
Meta's refusals (131047, 131056, 130429), the messaging tier, and the dry run's cost.

Same stack as test_notification_service.py (real services on one database, a fake Graph API, a
fake SMS gateway), sending inline; SQLite only, the SQL is the same as there.
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select, update

from backends.notifications import send
from backends.notifications.orm import Delivery
from backends.registration.orm import Target
from tests.service.conftest import sqlite_copy
from tests.service.test_notification_service import KEYS, Stack


@pytest.fixture
def make_stack(tmp_path, serve_app, sqlite_template):
    stacks = []

    def make(**delivery_changes) -> Stack:
        url = sqlite_copy(sqlite_template, tmp_path / f"test{len(stacks)}.sqlite3")
        stack = Stack(url, serve_app, **delivery_changes)
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.close()


@pytest.fixture
def stack(make_stack):
    return make_stack()


def unbooked_targets(stack: Stack, keep: int):
    """Keeps `keep` targets on the list (the seed has many), each with a distinct phone; returns them."""
    with stack.sessions() as session:
        ids = list(session.execute(select(Target.id).order_by(Target.id)).scalars())
        session.execute(update(Target).where(Target.id.in_(ids[keep:])).values(status="vaccinated"))
        for index, target_id in enumerate(ids[:keep]):
            session.execute(update(Target).where(Target.id == target_id)
                            .values(phone=f"+628139{index:07d}", facility=f"Puskesmas Uji {index}"))
        session.commit()
    return [(target_id, f"628139{index:07d}") for index, target_id in enumerate(ids[:keep])]


def ledger(stack: Stack):
    with stack.sessions() as session:
        return {row.subject_ref or row.id: row for row in session.execute(select(Delivery)).scalars()}


def test_the_invitation_goes_to_every_unbooked_health_worker_as_the_template(stack):
    targets = unbooked_targets(stack, 3)
    slot = stack.free_slot()
    stack.book(targets[2][0], slot["id"], None)  # already booked: not invited

    summary = stack.run("invitation").json()
    assert summary["campaign_id"] == "invitation:1"
    assert (summary["total"], summary["sent"], summary["failed"]) == (2, 2, 0)
    messages = {m["to"]: m for m in stack.graph.accepted}
    assert sorted(messages) == [targets[0][1], targets[1][1]]
    first = messages[targets[0][1]]
    assert (first["type"], first["template"]) == ("template", "vaksinbot_invitation_v1")
    assert first["components"][0]["parameters"] == [{"type": "text", "text": "Puskesmas Uji 0"}]
    assert [c["parameters"][0]["payload"] for c in first["components"][1:]] == [
        "/register_vaccine", "/notification_opt_out"]
    assert stack.sms.messages == []
    # The ledger keeps the target id (for the funnel) and no number in the clear.
    rows = ledger(stack)
    assert sorted(rows) == [f"target:{targets[0][0]}", f"target:{targets[1][0]}"]
    assert not any(targets[0][1] in (row.sealed or "") + row.recipient_hash for row in rows.values())

    again = stack.run("invitation").json()
    assert (again["sent"], again["skipped_already_sent"]) == (0, 2)
    assert len(stack.graph.accepted) == 2


def test_inside_the_24_hour_window_the_same_words_go_as_free_form_text(stack):
    targets = unbooked_targets(stack, 2)
    stack.window.note_inbound(targets[0][1], time.time() - 3600)            # wrote an hour ago
    stack.window.note_inbound(targets[1][1], time.time() - 23.95 * 3600)    # the window is about to close

    stack.run("invitation")
    messages = {m["to"]: m for m in stack.graph.accepted}
    inside = messages[targets[0][1]]
    assert inside["type"] == "interactive" and "Puskesmas Uji 0" in inside["text"]
    assert "{{" not in inside["text"] and "Daftar sekarang" in inside["text"]
    assert messages[targets[1][1]]["type"] == "template"  # not enough time left: the template


def test_statuses_from_meta_fill_the_funnel_and_a_reply_counts(stack):
    targets = unbooked_targets(stack, 3)
    stack.run("invitation")
    records = {m["to"]: m for m in stack.graph.accepted}
    graph = stack.graph
    stack.report(*graph.status_events(records[targets[0][1]], "sent", "delivered", "read"))
    # Out of order, as Meta may send them: read before delivered.
    stack.report(*graph.status_events(records[targets[1][1]], "read", "delivered"))
    stack.report(*graph.status_events(records[targets[2][1]], "sent"))
    # A quick-reply press on the first one (the channel reports it with the quoted message).
    stack.report({"type": "reply", "reference": None, "message": graph.status_events(
        records[targets[0][1]], "sent")[0]["message"], "timestamp": int(time.time()), "kind": "button"})

    funnel = stack.funnel("invitation:1")
    assert {k: funnel[k] for k in ("recipients", "sent", "delivered", "read", "failed", "replied", "pending")} == {
        "recipients": 3, "sent": 3, "delivered": 2, "read": 2, "failed": 0, "replied": 1, "pending": 0}
    rows = ledger(stack)
    assert rows[f"target:{targets[1][0]}"].status == "read"
    assert rows[f"target:{targets[0][0]}"].sealed is None  # delivered: the sealed address is dropped


def test_registered_afterwards_counts_invited_health_workers_who_booked(stack):
    targets = unbooked_targets(stack, 3)
    stack.run("invitation")
    slot = stack.free_slot()
    stack.book(targets[1][0], slot["id"], targets[1][1])  # pressed "Daftar sekarang" and booked
    funnel = stack.funnel("invitation:1")
    assert (funnel["sent"], funnel["registered"]) == (3, 1)
    # The run's summary carries the same funnel.
    run = stack.http["notifications"].get(f"{stack.urls['notifications']}/v1/runs/1").json()
    assert run["funnel"]["registered"] == 1 and run["funnel"]["recipients"] == 3


def test_a_number_not_on_whatsapp_gets_the_pedulicovid_sms_instead_and_only_that(stack):
    targets = unbooked_targets(stack, 2)
    stack.graph.refuse_codes[targets[0][1]] = 131026  # "message undeliverable": not a WhatsApp number
    summary = stack.run("invitation").json()
    assert (summary["sent"], summary["failed"]) == (2, 0)
    assert stack.graph.recipients() == [targets[1][1]]
    (sms,) = stack.sms.messages
    assert sms["to"] == "+" + targets[0][1]
    assert sms["text"].startswith("PEDULICOVID: Yth. Tenaga Kesehatan di Puskesmas Uji 0,") and "{{" not in sms["text"]
    funnel = stack.funnel("invitation:1")
    assert (funnel["failed"], funnel["sms_fallback"], funnel["sent"]) == (1, 1, 2)

    assert stack.run("invitation").json()["sent"] == 0  # nothing twice, on either channel
    assert len(stack.sms.messages) == 1 and len(stack.graph.accepted) == 1


def test_a_failed_delivery_reported_later_falls_back_to_sms_once(stack):
    targets = unbooked_targets(stack, 1)
    stack.run("invitation")
    (record,) = stack.graph.accepted
    failed = stack.graph.status_events(record, "failed", error_code=131026)
    stack.report(*failed)
    stack.report(*failed)  # Meta may deliver the same webhook twice
    assert stack.sms.recipients() == ["+" + targets[0][1]]
    row = ledger(stack)[f"target:{targets[0][0]}"]
    assert (row.channel, row.status, row.error_code) == ("sms", "sent", 131026)
    # A late "delivered" for the WhatsApp message cannot make it count twice.
    stack.report(*stack.graph.status_events(record, "delivered"))
    assert ledger(stack)[f"target:{targets[0][0]}"].channel == "sms"
    assert len(stack.graph.accepted) == 1


def test_reminders_have_no_sms_and_a_user_who_blocked_marketing_gets_none(stack):
    targets = unbooked_targets(stack, 2)
    slot = stack.free_slot()
    stack.book(targets[0][0], slot["id"], targets[0][1])
    stack.graph.refuse_codes[targets[0][1]] = 131026
    summary = stack.run("appointment_tomorrow", date=slot["date"]).json()
    assert (summary["sent"], summary["failed"]) == (0, 1)
    assert stack.sms.messages == []
    stack.graph.refuse_codes[targets[1][1]] = 131050  # the user stopped such messages in WhatsApp
    stack.run("invitation")
    assert "+" + targets[1][1] not in stack.sms.recipients()


def test_a_closed_window_reported_by_meta_sends_the_template_instead(stack):
    targets = unbooked_targets(stack, 1)
    stack.window.note_inbound(targets[0][1], time.time() - 60)
    stack.graph.refuse_codes[targets[0][1]] = 131047  # "re-engagement message": the window had closed
    summary = stack.run("invitation").json()
    assert summary["sent"] == 1
    assert stack.graph.refused[0]["code"] == 131047
    (message,) = stack.graph.accepted
    assert message["type"] == "template"


def test_meta_throttling_130429_backs_off_and_then_sends(stack):
    unbooked_targets(stack, 2)
    stack.graph.throttle_remaining = 1
    started = time.monotonic()
    summary = stack.run("invitation").json()
    assert summary["sent"] == 2 and summary["failed"] == 0
    assert stack.graph.refused[0]["code"] == 130429
    assert time.monotonic() - started >= 2.0  # the first back-off step
    assert len(stack.graph.accepted) == 2


def test_the_messaging_tier_defers_the_rest_until_a_later_run(make_stack):
    stack = make_stack(messaging_tier=3)
    unbooked_targets(stack, 5)
    summary = stack.run("invitation").json()
    assert (summary["sent"], summary["deferred"]) == (3, 2)
    assert len(stack.graph.accepted) == 3
    again = stack.run("invitation").json()  # still the same 24 hours: no room
    assert again["sent"] == 0 and len(stack.graph.accepted) == 3
    assert stack.funnel("invitation:1")["pending"] == 2


def test_opting_out_on_whatsapp_stops_the_invitation(stack):
    targets = unbooked_targets(stack, 2)
    stack.set_preference(targets[0][1], opted_out=True)  # "Berhenti" pressed: channel whatsapp, wa_id
    summary = stack.run("invitation").json()
    assert (summary["sent"], summary["skipped_opted_out"]) == (1, 1)
    assert stack.graph.recipients() == [targets[1][1]]


def test_the_dry_run_shows_the_cohort_and_its_cost_in_template_messages(stack, monkeypatch, capsys):
    targets = unbooked_targets(stack, 4)
    stack.window.note_inbound(targets[0][1], time.time() - 60)
    stack.set_preference(targets[1][1], opted_out=True)
    environment = {"NOTIFICATIONS_DATABASE_URL": stack.notification_settings.database_url,
                   "NOTIFICATIONS_SIGNING_KEY": stack.notification_settings.signing_key.decode(),
                   "REGISTRATION_URL": stack.urls["registration"], "REGISTRATION_API_KEY": KEYS["registration"],
                   "WHATSAPP_STATE_REDIS_URL": stack.delivery.state_redis_url,
                   "WHATSAPP_STATE_KEY": stack.delivery.state_key.decode(), "NOTIFICATIONS_MESSAGING_TIER": "250"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert send.main(["invitation", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "cohort invitation:1: 4 recipients" in out and "opted out 1" in out
    assert "vaksinbot_invitation_v1 (UTILITY, language id): 2 template messages" in out
    assert "inside the 24-hour window (no template): 1" in out
    assert "messaging tier 250 per 24 h: 1 day(s)" in out
    assert stack.graph.accepted == [] and ledger(stack) == {}


def test_the_templates_endpoint_lists_what_meta_approved(stack):
    templates = stack.http["notifications"].get(f"{stack.urls['notifications']}/v1/templates").json()
    invitation = next(t for t in templates if t["name"] == "invitation")
    assert invitation["whatsapp_template"] == "vaksinbot_invitation_v1"
    assert invitation["quick_replies"] == ["Daftar sekarang", "Berhenti"] and invitation["sms_fallback"] is True
