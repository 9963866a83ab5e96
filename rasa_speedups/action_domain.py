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
sent at all.
"""
from __future__ import annotations

from typing import Any, Dict, Text

from rasa.core.actions.action import RemoteAction

ACTION_SERVER_DOMAIN_KEYS = ("forms", "slots")
SEND_FULL_DOMAIN = "send_full_domain"

_rasas_action_call_format = RemoteAction._action_call_format


def action_server_domain(domain: Dict[Text, Any]) -> Dict[Text, Any]:
    return {key: domain[key] for key in ACTION_SERVER_DOMAIN_KEYS if key in domain}


def _action_call_format(self: RemoteAction, tracker, domain) -> Dict[Text, Any]:
    call = _rasas_action_call_format(self, tracker, domain)
    endpoint = self.action_endpoint
    full_wanted = bool(endpoint is not None and endpoint.kwargs.get(SEND_FULL_DOMAIN, False))
    if "domain" in call and not full_wanted:
        call["domain"] = action_server_domain(call["domain"])
    return call


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((RemoteAction, "_action_call_format"),)


def install() -> None:
    RemoteAction._action_call_format = _action_call_format
