"""Send the action server the part of the domain it reads, not all of it.

Rasa 3.6 sends the whole domain with every custom-action call (unless selective domain is on and
the action did not ask for it): 43 KB here, two thirds of it the bot's responses, which only the
Rasa server renders. The rasa-sdk reads two parts of it: `forms` (which slots a form validation
action validates and extracts) and `slots` (the mappings of global slot validation); this
project's actions read the domain only through that machinery. Encoding the rest at every call
was 7% of the Rasa server's main thread under load, and the action server decoded it again.

So each call carries the domain with only ACTION_SERVER_DOMAIN_KEYS (11 KB). An action server
that needs more (a third-party action reading `responses`, say) gets the whole domain again with

    action_endpoint:
      url: ...
      send_full_domain: true

Rasa's own `enable_selective_domain` / `send_domain` settings still decide whether a domain is
sent at all. The call is otherwise Rasa's, with the tracker's events as dicts remembered per event
(rasa_extensions/event_dicts.py).
"""
from __future__ import annotations

from typing import Any, Dict, Text

import rasa
from rasa.core.actions.action import RemoteAction

from rasa_extensions.event_dicts import action_tracker_state

ACTION_SERVER_DOMAIN_KEYS = ("forms", "slots")
SEND_FULL_DOMAIN = "send_full_domain"

_rasas_action_call_format = RemoteAction._action_call_format


def action_server_domain(domain: Dict[Text, Any]) -> Dict[Text, Any]:
    return {key: domain[key] for key in ACTION_SERVER_DOMAIN_KEYS if key in domain}


def _action_call_format(self: RemoteAction, tracker, domain) -> Dict[Text, Any]:
    """Rasa 3.6's call (tracker state with all events, Rasa's version, the domain when Rasa's
    selective-domain rule sends one), with the events' dicts remembered (event_dicts.py) and the
    action server's part of the domain."""
    call = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": action_tracker_state(tracker),
        "version": rasa.__version__,
    }
    if not self._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(self.name()):
        endpoint = self.action_endpoint
        full_wanted = bool(endpoint is not None and endpoint.kwargs.get(SEND_FULL_DOMAIN, False))
        call["domain"] = domain.as_dict() if full_wanted else action_server_domain(domain.as_dict())
    return call


def install() -> None:
    RemoteAction._action_call_format = _action_call_format
