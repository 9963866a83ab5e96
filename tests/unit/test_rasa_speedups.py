"""Four of the speed-ups of Rasa 3.6 (rasa_speedups/): action_validation, event_types, slot_copy and
domain_checks, each installed by its own test, must behave exactly
like the code it replaces (docs/benchmark.md has the measurements)."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

import rasa_speedups
from rasa_speedups import action_validation


def _rasas_own_validation(result):
    """Rasa 3.6's RemoteAction._validate_action_result, as shipped: a fresh validate() per call."""
    from jsonschema import validate

    validate(result, RemoteAction.action_response_format_spec())
    return True


def test_the_prepared_validator_accepts_and_rejects_what_rasa_does():
    action = RemoteAction.__new__(RemoteAction)
    good = {"events": [{"event": "slot", "name": "nik_suffix", "value": "enc:abc"}, {"event": "active_loop", "name": None}],
            "responses": [{"text": "Terima kasih."}]}
    bad = {"events": [{"event": "slot", "name": 5}]}
    assert _rasas_own_validation(good) is True
    with pytest.raises(ValidationError):
        _rasas_own_validation(bad)
    with rasa_speedups.install_temporarily("action_validation"):
        assert RemoteAction._validate_action_result is action_validation._validate_action_result  # installed
        assert RemoteAction._validate_action_result(action, good) is True
        with pytest.raises(ValidationError) as raised:
            RemoteAction._validate_action_result(action, bad)
    assert "Failed to validate Action server response" in raised.value.message


def test_the_event_type_table_resolves_like_rasa():
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event, SlotSet, UserUttered

    from rasa_speedups import event_types

    def rasas_own(name):  # Rasa 3.6's lookup, which event_types replaces
        return next((c for c in rasa.shared.utils.common.all_subclasses(Event) if c.type_name == name), None)

    names = {cls.type_name for cls in rasa.shared.utils.common.all_subclasses(Event)}
    assert {"user", "slot", "action", "bot", "active_loop"} <= names
    for name in names:
        assert event_types.resolve_by_type(name) is rasas_own(name)
    assert event_types.resolve_by_type("user") is UserUttered
    assert event_types.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    assert event_types.resolve_by_type("topic") is None
    with pytest.raises(ValueError):
        event_types.resolve_by_type("no_such_event")


def test_slots_are_copied_exactly_as_copy_copy_did_for_every_slot_of_the_domain():
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.slots import Slot

    from rasa_speedups.slot_copy import copy_slot

    domain = Domain.load("domain")
    assert len({type(slot) for slot in domain.slots}) >= 3
    with rasa_speedups.install_temporarily("slot_copy"):
        assert Slot.__copy__ is copy_slot
        _copy_every_slot_as_copy_copy_did(domain)
    assert "__copy__" not in Slot.__dict__   # Rasa's own again: copy.copy through the pickle protocol


def _copy_every_slot_as_copy_copy_did(domain):
    import copy

    for slot in domain.slots:
        slot.value = ["nilai"] if slot.type_name == "list" else slot.value
        reducer = slot.__reduce_ex__(4)   # what copy.copy did: rebuild from __reduce_ex__(4)
        before = copy._reconstruct(slot, None, *reducer)
        after = copy.copy(slot)
        assert type(after) is type(slot) and after is not slot
        assert vars(after) == vars(before)
        after.value = "lain"
        assert slot.value != "lain"


def _replies_of_every_event_type_and_broken_ones():
    """Valid replies with one event of each type Rasa's schema names, and broken variants of each."""
    import datetime

    from rasa.shared.core import events as rasa_events

    samples = [
        rasa_events.UserUttered("halo", intent={"name": "greet", "confidence": 0.9}, entities=[{"entity": "nik", "value": "1"}]),
        rasa_events.BotUttered("Halo", data={"buttons": [{"title": "Ya", "payload": "/affirm"}]}),
        rasa_events.SlotSet("nik_suffix", "enc:abc"), rasa_events.SlotSet("ready", True), rasa_events.SlotSet("n", None),
        rasa_events.Restarted(), rasa_events.AllSlotsReset(), rasa_events.ReminderScheduled("EXTERNAL_x", datetime.datetime(2026, 11, 24, 9, 0)),
        rasa_events.ReminderCancelled(name="r1"), rasa_events.ActionReverted(), rasa_events.UserUtteranceReverted(),
        rasa_events.FollowupAction("action_x"), rasa_events.ConversationPaused(), rasa_events.ConversationResumed(),
        rasa_events.ActionExecuted("action_y", policy="RulePolicy", confidence=1.0),
        rasa_events.ActiveLoop("form_x"), rasa_events.ActiveLoop(None), rasa_events.LoopInterrupted(True),
        rasa_events.ActionExecutionRejected("action_z"), rasa_events.SessionStarted(),
        rasa_events.AgentUttered("hai"), rasa_events.EntitiesAdded([{"entity": "date", "value": "2026-11-24"}]),
        rasa_events.DefinePrevUserUtteredFeaturization(True),
    ]
    good = [{"events": [event.as_dict()], "responses": [{"text": "Baik."}]} for event in samples]
    good += [{"events": [event.as_dict() for event in samples]}, {}, {"events": []}, {"responses": []}]
    broken = [{"events": "bukan daftar"}, {"events": [5]}, {"events": [{"name": "x"}]}, {"events": [{"event": 3}]},
              {"events": [{"event": "tidak_ada"}]}, {"responses": "x"}, {"responses": [3]}, "bukan objek",
              {"events": [{"event": "slot", "name": 5}]}, {"events": [{"event": "user", "timestamp": "kemarin"}]},
              {"events": [{"event": "action", "name": 7}]}, {"events": [{"event": "slot", "metadata": []}]}]
    for reply in good[: len(samples)]:
        event = dict(reply["events"][0])
        for key in list(event):
            if key != "event":
                broken.append({"events": [dict(event, **{key: 12345})]})
                broken.append({"events": [dict(event, **{key: ["daftar"]})]})
    return good, broken


def test_checking_each_event_against_the_schema_of_its_name_gives_the_full_schemas_verdict():
    good, broken = _replies_of_every_event_type_and_broken_ones()
    reference = action_validation._validator()
    assert all(reference.is_valid(reply) for reply in good)
    assert sum(not reference.is_valid(reply) for reply in broken) >= 40
    for reply in good + broken:
        assert action_validation.is_valid_by_event_name(reply) == reference.is_valid(reply), reply


def test_is_empty_answers_as_rasa_does():
    from pathlib import Path

    from rasa.shared.core.domain import Domain

    from rasa_speedups import domain_checks

    with rasa_speedups.install_temporarily("domain_checks"):
        assert Domain.is_empty is domain_checks.is_empty
        assert Domain.empty().is_empty() is True
        assert Domain.from_dict({}).is_empty() is True
        assert Domain.load(str(Path(__file__).resolve().parents[2] / "domain")).is_empty() is False
        assert Domain.from_dict({"intents": ["greet"]}).is_empty() is False
