"""The domain sent with custom-action calls (rasa_extensions/action_domain.py)."""
from pathlib import Path

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

import rasa_extensions  # noqa: F401 - installs the extensions
from rasa_extensions import action_domain

ROOT = Path(__file__).resolve().parents[2]


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


def test_a_call_equals_rasas_for_trackers_of_every_kind_of_event(domain):
    import random

    from rasa.shared.core import events as rasa_events

    from tests.unit.test_past_states import random_events

    generator = random.Random(3)
    makers = random_events(domain, generator)
    action = RemoteAction("validate_vaccine_registration_form", EndpointConfig("http://actions.test/webhook"))
    for _conversation in range(20):
        tracker = DialogueStateTracker("pengguna", domain.slots)
        for _step in range(generator.randint(1, 40)):
            tracker.update(generator.choice(makers)())
            if generator.random() < 0.2:   # Rasa re-binds a logged event's metadata and timestamp
                event = generator.choice(list(tracker.events))
                event.metadata = {**event.metadata, "model_id": "m1"}
                event.timestamp = generator.random()
            ours = action._action_call_format(tracker, domain)
            rasas = action_domain._rasas_action_call_format(action, tracker, domain)
            rasas["domain"] = action_domain.action_server_domain(rasas["domain"])
            assert ours == rasas
    assert isinstance(rasa_events.SlotSet("a", 1).as_dict(), dict)


def test_the_self_check_reports_a_remembered_event_dict_that_went_stale(monkeypatch, caplog):
    import logging

    from rasa.shared.core import events as rasa_events

    from rasa_extensions import event_dicts, tracker_copy

    event = rasa_events.BotUttered("Halo", data={"buttons": []})
    first = event_dicts.event_dict(event)
    assert event_dicts.event_dict(event) is first             # remembered
    event.text = "Halo lagi"                                    # re-bound: made again
    assert event_dicts.event_dict(event)["text"] == "Halo lagi"
    monkeypatch.setenv(tracker_copy.SELF_CHECK_VARIABLE, "1")
    key = id(event)
    reference, attributes, made = event_dicts._remembered[key]
    event_dicts._remembered[key] = (reference, attributes, dict(made, text="basi"))
    with caplog.at_level(logging.ERROR, logger=event_dicts.__name__):
        assert event_dicts.event_dict(event)["text"] == "Halo lagi"
    assert "self-check failed" in caplog.text
    del event
    import gc
    gc.collect()
    assert key not in event_dicts._remembered                   # forgotten with its event
