"""The approved WhatsApp templates as data: valid for Meta, used by the code, filled correctly;
the message formats of templates and status webhooks; the window rule; Meta's error codes."""
from __future__ import annotations

import pytest

from backends.notifications import domain, templates
from backends.notifications.whatsapp import template_or_text, template_parameters
from channels import whatsapp_messages as formats

INVITATION = {"facility": "Puskesmas Tebet"}


def test_every_template_the_code_uses_exists_is_valid_and_sends_only_domain_intents():
    used = sorted({campaign.template for campaign in domain.CAMPAIGNS.values()})
    assert templates.check(used, templates.domain_intents()) == []


def test_the_check_names_a_missing_template_and_an_unknown_payload(tmp_path):
    (tmp_path / "invitation.yml").write_text(
        "name: invitation\nversion: 1\nlanguage: id\ncategory: UTILITY\ndescription: x\n"
        "body: 'Halo {{facility}}, silakan daftar.'\nparameters:\n  - name: facility\n    example: Puskesmas\n"
        "buttons:\n  - text: Daftar\n    payload: /no_such_intent\n")
    problems = templates.check(["invitation", "reminder"], frozenset({"register_vaccine"}), tmp_path)
    assert any("reminder.yml does not exist" in p for p in problems)
    assert any("/no_such_intent" in p for p in problems)


@pytest.mark.parametrize("change, problem", [
    ({"body": "{{facility}} diundang vaksinasi."}, "may not start or end with a parameter"),
    ({"body": "Halo {{name}}, silakan daftar."}, "the body uses"),
    ({"category": "PROMO"}, "category"),
    ({"buttons": [{"text": "Daftar sekarang juga ya Bapak Ibu", "payload": "/register_vaccine"}]}, "1 to 20"),
    ({"buttons": [{"text": "Daftar", "payload": "register_vaccine"}]}, "payload is a Rasa intent"),
    ({"sms": "PEDULICOVID: " + "x" * 320}, "the SMS is"),
    ({"parameters": [{"name": "facility"}]}, "needs an `example`"),
])
def test_what_meta_would_refuse_is_refused(change, problem):
    data = {"name": "invitation", "version": 1, "language": "id", "category": "UTILITY", "description": "x",
            "body": "Halo {{facility}}, silakan daftar.", "parameters": [{"name": "facility", "example": "P"}]}
    data.update(change)
    with pytest.raises(templates.TemplateError, match=problem):
        templates.parse_template(data)


def test_the_submission_uses_positional_parameters_with_examples():
    submission = templates.get("appointment_tomorrow").submission()
    assert submission["name"] == "vaksinbot_appointment_tomorrow_v1" and submission["language"] == "id"
    body = next(c for c in submission["components"] if c["type"] == "BODY")
    assert "{{1}}" in body["text"] and "{{5}}" in body["text"] and "{{date}}" not in body["text"]
    assert len(body["example"]["body_text"][0]) == 5
    buttons = next(c for c in submission["components"] if c["type"] == "BUTTONS")["buttons"]
    assert buttons == [{"type": "QUICK_REPLY", "text": "Lihat tiket"}, {"type": "QUICK_REPLY", "text": "Berhenti"}]


def test_a_template_message_carries_values_in_order_and_the_quick_reply_payloads():
    (message,) = template_or_text("invitation", INVITATION, free_form=False)
    assert message["type"] == "template"
    template = message["template"]
    assert template["name"] == "vaksinbot_invitation_v1" and template["language"] == {"code": "id"}
    assert template["components"][0] == {"type": "body", "parameters": [{"type": "text", "text": "Puskesmas Tebet"}]}
    assert template["components"][1] == {"type": "button", "sub_type": "quick_reply", "index": "0",
                                         "parameters": [{"type": "payload", "payload": "/register_vaccine"}]}


def test_inside_the_window_the_same_words_go_with_reply_buttons():
    messages = template_or_text("invitation", INVITATION, free_form=True)
    interactive = messages[-1]["interactive"]
    assert interactive["type"] == "button" and "Puskesmas Tebet" in interactive["body"]["text"]
    assert [b["reply"]["id"] for b in interactive["action"]["buttons"]] == ["/register_vaccine",
                                                                             "/notification_opt_out"]


def test_a_missing_value_is_an_error_and_values_lose_newlines():
    with pytest.raises(templates.TemplateError):
        template_or_text("invitation", {}, free_form=False)
    (message,) = template_or_text("invitation", {"facility": "RS\nUmum    Daerah"}, free_form=False)
    assert message["template"]["components"][0]["parameters"][0]["text"] == "RS Umum Daerah"


def test_template_parameters_write_dates_in_indonesian():
    values = template_parameters("second_dose_due", {"first_dose_date": "2026-10-26", "brand": "", "days": "28"})
    assert values == {"brand": "COVID-19", "first_dose_date": "Senin, 26 Oktober 2026", "days": "28"}


def test_the_channel_knows_every_quick_reply_payload_of_the_templates():
    assert formats.template_payloads() == frozenset({"/register_vaccine", "/notification_opt_out", "/show_ticket",
                                                     "/check_vaccination_status"})


def test_status_webhooks_are_read_without_the_recipient_number():
    payload = {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "metadata": {"phone_number_id": "1"},
        "statuses": [{"id": "wamid.A", "status": "delivered", "timestamp": "1700000000", "recipient_id": "6281",
                      "biz_opaque_callback_data": "vb1:7"},
                     {"id": "wamid.B", "status": "failed", "timestamp": "1700000001", "recipient_id": "6282",
                      "errors": [{"code": 131026, "title": "Message undeliverable"}]},
                     {"id": "wamid.C", "status": "deleted"}]}}]}]}
    statuses = list(formats.delivery_statuses(payload, "1"))
    assert [(s.status, s.callback_data, s.error_code) for s in statuses] == [
        ("delivered", "vb1:7", None), ("failed", None, 131026)]
    assert "6281" not in repr(statuses)
    assert list(formats.delivery_statuses(payload, "2")) == []  # another number of the same app


def test_a_quick_reply_press_is_read_with_its_context():
    payload = {"object": "whatsapp_business_account", "entry": [{"changes": [{"field": "messages", "value": {
        "messages": [{"from": "6281", "id": "wamid.in", "timestamp": "1700000005", "type": "button",
                      "context": {"from": "6280", "id": "wamid.out"},
                      "button": {"payload": "/register_vaccine", "text": "Daftar sekarang"}}]}}]}]}
    (message,) = formats.incoming_messages(payload)
    assert (message.kind, message.text, message.context_id, message.timestamp) == (
        "button", "/register_vaccine", "wamid.out", 1700000005)


@pytest.mark.parametrize("last_wrote_hours_ago, kind", [(None, "template"), (1, "text"), (23.5, "text"),
                                                        (23.9, "template"), (30, "template")])
def test_the_window_rule(last_wrote_hours_ago, kind):
    now = 1_700_000_000.0
    last = None if last_wrote_hours_ago is None else now - last_wrote_hours_ago * 3600
    assert domain.whatsapp_message_kind(last, now) == kind


@pytest.mark.parametrize("http_status, code, consequence", [
    (429, 130429, domain.THROTTLED), (400, 131056, domain.PAIR_LIMITED), (400, 131047, domain.WINDOW_CLOSED),
    (400, 131026, domain.UNDELIVERABLE), (400, 131050, domain.DO_NOT_CONTACT), (401, 190, domain.CONFIGURATION),
    (400, 132001, domain.CONFIGURATION), (500, 131000, domain.RETRY), (None, None, domain.RETRY),
    (503, None, domain.RETRY)])
def test_what_a_refused_send_means(http_status, code, consequence):
    assert domain.classify_send_error(http_status, code) == consequence


def test_a_failed_status_means_undeliverable_unless_it_is_a_limit_or_the_window():
    assert domain.classify_failed_status(131026) == domain.UNDELIVERABLE
    assert domain.classify_failed_status(None) == domain.UNDELIVERABLE
    assert domain.classify_failed_status(131047) == domain.WINDOW_CLOSED
    assert domain.classify_failed_status(130429) == domain.THROTTLED
    assert domain.classify_failed_status(131050) == domain.DO_NOT_CONTACT


@pytest.mark.parametrize("name, limit", [("250", 250), ("1k", 1000), ("10K", 10_000), ("100k", 100_000),
                                         ("unlimited", None), ("5000", 5000)])
def test_messaging_tiers(name, limit):
    assert domain.tier_limit(name) == limit


def test_days_at_a_tier_and_a_wrong_tier():
    assert domain.days_to_send(1_481_654, 100_000) == 15
    assert domain.days_to_send(10, None) == 1 and domain.days_to_send(0, 250) == 0
    with pytest.raises(ValueError):
        domain.tier_limit("lots")


def test_statuses_never_go_backwards():
    assert domain.later_status("read", "delivered") == "read"
    assert domain.later_status("sent", "read") == "read"
    assert domain.later_status("delivered", "failed") == "delivered"


def test_invitation_rounds():
    import datetime as dt

    today = dt.date(2026, 11, 23)
    assert domain.choose_cohort("invitation", today).campaign_id == "invitation:1"
    assert domain.choose_cohort("invitation", today, round="2026-12").campaign_id == "invitation:2026-12"
    with pytest.raises(domain.InvalidCohort):
        domain.choose_cohort("invitation", today, days=3)
    with pytest.raises(domain.InvalidCohort):
        domain.choose_cohort("invitation", today, round="a b")
