"""A tracker's state copy (rasa_speedups/tracker_copy.py) equals Rasa's replay after every kind
of event, is independent of the original, and the self-check catches a state the events do not
explain."""
import logging
import random
from pathlib import Path

import pytest
from rasa.shared.core import events as rasa_events
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

import rasa_speedups
from rasa_extensions import tracker_check
from rasa_speedups import tracker_copy
from tests.unit.tracker_events import random_events


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The tracker_copy speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("tracker_copy"):
        yield


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain():
    return Domain.load(str(ROOT / "domain"))


def extra_events(domain, generator):
    """Events the past-states test does not make: validation flags, pauses, entities, featurization."""
    return [
        lambda: rasa_events.ActionExecutionRejected(generator.choice(sorted(domain.form_names))),
        lambda: rasa_events.LoopInterrupted(generator.choice([True, False])),
        lambda: rasa_events.ConversationPaused(),
        lambda: rasa_events.ConversationResumed(),
        lambda: rasa_events.AllSlotsReset(),
        lambda: rasa_events.EntitiesAdded([{"entity": "option_number", "value": "1"}]),
        lambda: rasa_events.DefinePrevUserUtteredFeaturization(generator.choice([True, False])),
        lambda: rasa_events.ActionExecuted("validate_vaccine_registration_form", policy="RulePolicy", confidence=1.0),
    ]


def test_installed_on_rasas_tracker():
    assert DialogueStateTracker.copy is tracker_copy.copy


def test_the_state_copy_equals_rasas_replay_after_every_kind_of_event(domain):
    generator = random.Random(2021)
    makers = random_events(domain, generator) + extra_events(domain, generator)
    compared = 0
    for _conversation in range(40):
        tracker = DialogueStateTracker("pengguna", domain.slots)
        for _step in range(generator.randint(1, 60)):
            tracker.update(generator.choice(makers)())
            assert tracker_check.differences(tracker_check.state_copy(tracker), tracker_copy._rasas_copy(tracker)) == []
            compared += 1
    assert compared > 500


def test_a_copy_is_independent_of_its_original(domain):
    form = sorted(domain.form_names)[0]
    tracker = DialogueStateTracker("pengguna", domain.slots)
    for event in [rasa_events.ActionExecuted("action_listen"),
                  rasa_events.UserUttered("Vaksin", {"name": "vaccine_registration", "confidence": 1.0}),
                  rasa_events.ActiveLoop(form), rasa_events.SlotSet("is_health_worker", True)]:
        tracker.update(event)
    clone = tracker.copy()
    assert clone is not tracker and clone.events is not tracker.events
    clone.update(rasa_events.SlotSet("is_health_worker", False))
    clone.update(rasa_events.ActionExecutionRejected(form))   # edits the active loop in place
    clone.update(rasa_events.ActionExecuted("action_listen"))
    assert tracker.get_slot("is_health_worker") is True
    assert tracker.active_loop.rejected is False and clone.active_loop.rejected is True
    assert len(tracker.events) == 4 and len(clone.events) == 7
    assert tracker_check.differences(tracker.copy(), tracker_copy._rasas_copy(tracker)) == []


def test_trackers_the_replay_might_change_are_replayed(domain):
    capped = DialogueStateTracker("pengguna", domain.slots, max_event_history=3)
    any_slots = DialogueStateTracker("pengguna", None)
    for tracker in (capped, any_slots):
        assert not tracker_copy.can_copy_state(tracker)
    for number in range(5):
        capped.update(rasa_events.SlotSet("is_health_worker", number % 2 == 0))
    # The first events fell out of the capped history: the replay, not the state, is Rasa's copy.
    assert capped.copy().get_slot("is_health_worker") is capped.get_slot("is_health_worker")
    assert len(capped.copy().events) == 3


def test_the_self_check_reports_a_state_no_event_explains(domain, monkeypatch, caplog):
    monkeypatch.setenv(tracker_check.SELF_CHECK_VARIABLE, "1")
    tracker = DialogueStateTracker("pengguna", domain.slots)
    tracker.update(rasa_events.SlotSet("is_health_worker", True))
    with caplog.at_level(logging.ERROR, logger=tracker_check.__name__):
        assert tracker.copy().get_slot("is_health_worker") is True
        assert not caplog.records
        tracker.slots["is_health_worker"].value = False   # set behind Rasa's back: no event
        clone = tracker.copy()
    assert clone.get_slot("is_health_worker") is True     # with the self-check on, Rasa's copy is used
    assert [record.getMessage() for record in caplog.records] == [
        "self-check failed: tracker copy differs from Rasa's in slot is_health_worker, current_state"]


def test_a_forms_temporary_tracker_equals_rasas_replay(domain, monkeypatch):
    import time

    from rasa.core.actions.forms import FormAction

    monkeypatch.setattr(time, "time", lambda: 1_700_000_000.0)   # the form's new events, stamped alike
    generator = random.Random(11)
    makers = [make for make in random_events(domain, generator) + extra_events(domain, generator)]
    forms = [FormAction(name, None) for name in sorted(domain.form_names)]
    assert FormAction._temporary_tracker is tracker_copy.form_temporary_tracker
    compared = replayed = 0
    for _conversation in range(30):
        tracker = DialogueStateTracker("pengguna", domain.slots)
        for _step in range(generator.randint(1, 40)):
            tracker.update(generator.choice(makers)())
            form = generator.choice(forms)
            extra = [rasa_events.SlotSet("is_health_worker", generator.choice([True, False]))]
            ours = form._temporary_tracker(tracker, extra, domain)
            rasas = tracker_copy._rasas_temporary_tracker(form, tracker, extra, domain)
            assert tracker_check.differences(ours, rasas, identical_events=False) == []
            compared += 1
            replayed += tracker.idx_after_latest_restart() > 0   # after a restart Rasa's replay is used
    assert compared > 300 and 0 < replayed < compared


def test_after_the_processor_clears_a_follow_up_action_the_copy_is_rasas_replay(domain):
    from rasa.core.processor import MessageProcessor

    processor = MessageProcessor.__new__(MessageProcessor)    # only its domain is used on this path
    processor.domain = domain
    action = "utter_greet" if "utter_greet" in domain.action_names_or_texts else sorted(domain.user_actions)[0]
    tracker = DialogueStateTracker("pengguna", domain.slots)
    tracker.update(rasa_events.ActionExecuted("action_listen"))
    tracker.update(rasa_events.FollowupAction(action))
    assert tracker_copy.can_copy_state(tracker)
    assert processor._predict_next_with_tracker(tracker).max_confidence == 1.0
    assert tracker.followup_action is None                     # cleared without an event...
    assert not tracker_copy.can_copy_state(tracker)
    assert tracker.copy().followup_action == action            # ...so the copy is Rasa's replay
    assert tracker_check.differences(tracker.copy(), tracker_copy._rasas_copy(tracker)) == []
    assert tracker_check.differences(tracker_check.state_copy(tracker), tracker_copy._rasas_copy(tracker)) != []
