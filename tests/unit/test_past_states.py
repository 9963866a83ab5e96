"""A tracker's remembered past states (rasa_speedups/past_states.py) equal Rasa's after every
kind of change, and each caller gets states it may edit."""
import random
from pathlib import Path

import pytest
from rasa.shared.core import events as rasa_events
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

import rasa_speedups
from rasa_speedups import past_states as memo

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The past_states speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("past_states"):
        yield


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain"))


def random_events(domain, generator):
    intents = sorted(domain.intents)
    forms = sorted(domain.form_names)
    slots = [slot for slot in domain.slots if slot.type_name in ("text", "bool", "categorical")]
    makers = [
        lambda: rasa_events.ActionExecuted("action_listen"),
        lambda: rasa_events.UserUttered("halo", {"name": generator.choice(intents), "confidence": 0.9}),
        lambda: rasa_events.ActionExecuted(generator.choice(forms)),
        lambda: rasa_events.ActiveLoop(generator.choice(forms)),
        lambda: rasa_events.ActiveLoop(None),
        lambda: rasa_events.ActionExecuted("utter_greet"),
        lambda: rasa_events.ActionReverted(),
        lambda: rasa_events.UserUtteranceReverted(),
        lambda: rasa_events.Restarted(),
        lambda: rasa_events.SessionStarted(),
        lambda: rasa_events.FollowupAction("action_listen"),
        lambda: rasa_events.BotUttered("hai"),
        lambda: _slot_event(generator.choice(slots), generator),
    ]
    return makers


def _slot_event(slot, generator):
    if slot.type_name == "bool":
        return rasa_events.SlotSet(slot.name, generator.choice([True, False, None]))
    if slot.type_name == "categorical":
        return rasa_events.SlotSet(slot.name, generator.choice(list(slot.values) + [None]))
    return rasa_events.SlotSet(slot.name, generator.choice(["a", "b", None]))


def rasas(tracker, domain, **kwargs):
    return memo._rasas_past_states(tracker, domain, **kwargs)


def test_installed_on_rasas_tracker():
    assert DialogueStateTracker.past_states is memo.past_states


def test_remembered_states_equal_rasas_after_every_kind_of_change(domain):
    generator = random.Random(11)
    makers = random_events(domain, generator)
    rule_only_data = {"slots": [], "loops": []}
    for _ in range(15):
        tracker = DialogueStateTracker.from_events("u", [], domain.slots)
        for _ in range(30):
            tracker.update(generator.choice(makers)())
            for kwargs in ({}, {"ignore_rule_only_turns": True, "rule_only_data": rule_only_data},
                           {"omit_unset_slots": True}):
                assert tracker.past_states(domain, **kwargs) == rasas(tracker, domain, **kwargs)
                assert tracker.past_states(domain, **kwargs) == rasas(tracker, domain, **kwargs)  # remembered


def test_each_caller_may_edit_its_states(domain):
    tracker = DialogueStateTracker.from_events("u", [
        rasa_events.ActionExecuted("action_listen"),
        rasa_events.UserUttered("halo", {"name": "greet", "confidence": 1.0})], domain.slots)
    first = tracker.past_states(domain)
    expected = rasas(tracker, domain)
    first[-1]["user"].pop("intent")       # what the featurizer does to use the text instead
    first.append({"edited": {}})
    assert tracker.past_states(domain) == expected


def test_a_replaced_event_list_of_the_same_length_is_featurized_again(domain):
    tracker = DialogueStateTracker.from_events("u", [
        rasa_events.ActionExecuted("action_listen"),
        rasa_events.UserUttered("halo", {"name": "greet", "confidence": 1.0}),
        rasa_events.ActionExecuted("utter_greet")], domain.slots)
    tracker.past_states(domain)
    changed = list(tracker.events)
    changed[1] = rasa_events.UserUttered("ya", {"name": "affirm", "confidence": 1.0})
    tracker.events = type(tracker.events)(changed, maxlen=tracker.events.maxlen)
    assert tracker.past_states(domain) == rasas(tracker, domain)
    assert any(state.get("user", {}).get("intent") == "affirm" for state in tracker.past_states(domain))
