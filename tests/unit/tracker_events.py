"""Random tracker events of every kind, for the tests that compare a speed-up with Rasa's own code
after each change (tests/unit/test_tracker_copy.py, test_tracker_state.py)."""
from __future__ import annotations

from rasa.shared.core import events as rasa_events


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
