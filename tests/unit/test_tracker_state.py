"""A tracker's current state (rasa_speedups/tracker_state.py) equals Rasa's for every verbosity,
after every kind of event, with active loops started by richly parsed messages."""
import dataclasses
import random
from pathlib import Path

import pytest
from rasa.shared.core import events as rasa_events
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

import rasa_speedups
from rasa_speedups import tracker_state
from tests.unit.tracker_events import random_events


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The tracker_state speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("tracker_state"):
        yield


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain"))


def parsed_message(generator, intents):
    intent = generator.choice(intents)
    ranking = [{"name": name, "confidence": generator.random()} for name in generator.sample(intents, 5)]
    parse = {"intent": {"name": intent, "confidence": 0.91}, "intent_ranking": ranking, "text": "saya nakes",
             "entities": [{"entity": "option_number", "value": "1", "start": 0, "end": 1, "extractor": "x",
                           "processors": ["EntitySynonymMapper"]}],
             "response_selector": {"all_retrieval_intents": [], "default": {"response": {"responses": None,
                                   "confidence": 0.0, "utter_action": "utter_None"}, "ranking": []}},
             "metadata": {"nested": {"tuple": (1, 2), "none": None, "flag": True}}}
    return rasa_events.UserUttered("saya nakes", parse["intent"], parse["entities"], parse_data=parse)


def test_installed_on_rasas_tracker():
    assert DialogueStateTracker.current_state is tracker_state.current_state


def test_the_state_equals_rasas_for_every_verbosity_after_every_kind_of_event(domain):
    generator = random.Random(2021)
    intents = sorted(domain.intents)
    makers = random_events(domain, generator) + [lambda: parsed_message(generator, intents)] * 3
    loops = 0
    for _conversation in range(30):
        tracker = DialogueStateTracker("pengguna", domain.slots)
        for _step in range(generator.randint(1, 50)):
            tracker.update(generator.choice(makers)())
            loops += tracker.active_loop is not None
            for verbosity in EventVerbosity:
                assert tracker.current_state(verbosity) == tracker_state._rasas_current_state(tracker, verbosity)
    assert loops > 100


def test_the_loop_is_copied_as_asdict_copies_it(domain):
    generator = random.Random(7)
    tracker = DialogueStateTracker("pengguna", domain.slots)
    tracker.update(parsed_message(generator, sorted(domain.intents)))
    tracker.update(rasa_events.ActiveLoop(sorted(domain.form_names)[0]))
    state = tracker.current_state()["active_loop"]
    assert state == dataclasses.asdict(tracker.active_loop)
    assert state["trigger_message"]["metadata"]["nested"]["tuple"] == (1, 2)
    state["trigger_message"]["intent_ranking"].clear()       # a deep copy: the tracker is untouched
    assert tracker.active_loop.trigger_message["intent_ranking"]
