"""The two speed-ups of Rasa 3.6 installed by rasa_extensions, and the lean redaction at save time:
each must behave exactly like the code it replaces (docs/benchmark.md has the measurements)."""
import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from rasa_extensions import action_validation


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
    assert RemoteAction._validate_action_result is action_validation._validate_action_result  # installed
    assert RemoteAction._validate_action_result(action, good) is True
    with pytest.raises(ValidationError) as raised:
        RemoteAction._validate_action_result(action, bad)
    assert "Failed to validate Action server response" in raised.value.message


def test_the_lean_redaction_gives_the_same_tracker_as_the_current_one():
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa.shared.core.events import Event

    from rasa_extensions.redaction import redact_event
    from rasa_extensions.tracker_store import redacted

    def recreated_in_full(tracker):  # the straightforward version it replaced: every event rebuilt
        return [Event.from_parameters(redact_event(e.as_dict())) for e in tracker.events]

    tracker = DialogueStateTracker("someone", [])
    for event in (UserUttered("kode saya 482913", {"name": "inform"}, parse_data={"text": "kode saya 482913"}),
                  ActionExecuted("pl_verification_form"), SlotSet("pl_otp", "482913"), SlotSet("pl_token", "enc:x"),
                  BotUttered("Terima kasih"), UserUttered("ya", {"name": "affirm"}), ActionExecuted("action_listen")):
        tracker.update(event)
    lean = redacted(tracker)
    assert [e.as_dict() for e in lean.events] == [e.as_dict() for e in recreated_in_full(tracker)]
    assert "482913" not in str([e.as_dict() for e in lean.events])
    assert lean.events[4] is tracker.events[4]          # events that cannot hold personal data are reused


def test_the_event_type_table_resolves_like_rasa():
    import rasa.shared.utils.common
    from rasa.shared.core.events import Event, SlotSet, UserUttered

    from rasa_extensions import event_types

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
