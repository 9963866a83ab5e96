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
