"""The domain sent with custom-action calls (rasa_speedups/action_domain.py)."""
from pathlib import Path

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import rasa_speedups
from rasa_speedups import action_domain

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The action_domain speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("action_domain"):
        yield


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain"))


def call_for(action_name, domain, **endpoint_settings):
    action = RemoteAction(action_name, EndpointConfig("http://actions.test/webhook", **endpoint_settings))
    return action._action_call_format(DialogueStateTracker("someone", domain.slots), domain)


def test_installed_on_rasas_remote_action():
    assert RemoteAction._action_call_format is action_domain._action_call_format


def test_a_call_carries_the_forms_and_slots_of_the_domain_and_not_the_responses(domain):
    call = call_for("validate_vaccine_registration_form", domain)
    full = domain.as_dict()
    assert set(call["domain"]) == {"forms", "slots"}
    assert call["domain"]["forms"] == full["forms"] and call["domain"]["slots"] == full["slots"]
    assert call["tracker"]["sender_id"] == "someone" and call["next_action"] == "validate_vaccine_registration_form"


def test_send_full_domain_gives_rasas_call_unchanged(domain):
    call = call_for("validate_vaccine_registration_form", domain, send_full_domain=True)
    assert call["domain"] == domain.as_dict()
    assert "responses" in call["domain"]


def test_rasas_selective_domain_still_decides_whether_a_domain_is_sent(domain):
    assert "domain" not in call_for("action_route_typed_value", domain, enable_selective_domain=True)


def test_every_form_validation_action_sees_the_same_slots_as_with_the_full_domain(domain):
    from rasa_sdk.forms import FormValidationAction

    import importlib
    import pkgutil

    import actions

    for module in pkgutil.walk_packages(actions.__path__, "actions."):
        importlib.import_module(module.name)   # defines every action class

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    full, sent = domain.as_dict(), action_domain.action_server_domain(domain.as_dict())
    checked = 0
    for cls in subclasses(FormValidationAction):
        if getattr(cls, "__abstractmethods__", None) or cls.__module__.startswith("rasa_sdk"):
            continue
        validator = cls()
        assert validator.domain_slots(sent) == validator.domain_slots(full), validator.name()
        assert validator.domain_slots(sent), f"{validator.name()} validates no slot"
        checked += 1
    assert checked >= 9
