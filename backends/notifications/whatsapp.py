"""A notification as WhatsApp messages: the approved template, or its words as free-form text.

Outside the 24-hour window (or when nobody knows whether it is open) only the approved template
(`type: template`) gets through; inside it, the same words go as text with the quick replies as
reply buttons, which costs no template message. Either way a press on a button sends the same
payload (`/register_vaccine`, `/notification_opt_out`, ...), so the conversation goes on alike.
"""
from __future__ import annotations

from typing import Any, Dict, List, Mapping

from backends.notifications import templates
from channels import whatsapp_messages as formats


def template_or_text(name: str, parameters: Mapping[str, str], free_form: bool) -> List[Dict[str, Any]]:
    template = templates.get(name)
    if not free_form:
        return [formats.template_message(template.meta_name, template.language, template.values(parameters),
                                         [button.payload for button in template.buttons])]
    text = template.render_text(parameters)
    if not template.buttons:
        return formats.text_messages(text)
    return formats.button_messages(text, [{"title": b.text, "payload": b.payload} for b in template.buttons])


def template_parameters(campaign: str, entities: Mapping[str, str]) -> Dict[str, str]:
    """The template's values from what the cohort says (dates in Indonesian, as the chat writes them)."""
    if campaign == "appointment_tomorrow":
        return {"date": _date_text(entities.get("date")), "site_name": entities.get("site_name", ""),
                "site_address": entities.get("site_address", ""), "session": entities.get("session", ""),
                "hours": entities.get("hours", "")}
    if campaign == "second_dose_due":
        return {"brand": entities.get("brand") or "COVID-19",
                "first_dose_date": _date_text(entities.get("first_dose_date")), "days": str(entities.get("days", ""))}
    return {name: str(value) for name, value in entities.items()}


def _date_text(value) -> str:
    import datetime as dt

    from indonesian_text.dates import indonesian_date

    try:
        return indonesian_date(dt.date.fromisoformat(str(value)))
    except ValueError:
        return str(value or "")
