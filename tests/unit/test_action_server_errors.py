"""The action server's answer when an action raised (actions/server.py)."""
from actions.server import failure_reply


def _call(action, events):
    return {"next_action": action, "sender_id": "u", "tracker": {"sender_id": "u", "events": events}}


def test_a_failed_validation_rejects_every_candidate_and_apologises():
    events = [{"event": "slot", "name": "requested_slot", "value": "pl_phone"},
              {"event": "user", "text": "0812 3456 7890"},
              {"event": "slot", "name": "pl_phone", "value": "0812 3456 7890"}]
    reply = failure_reply(_call("validate_verification_form", events))
    assert reply["responses"] == [{"response": "utter_action_failed"}]
    assert [(e["name"], e["value"]) for e in reply["events"]] == [("pl_phone", None)]


def test_another_failed_action_only_apologises():
    assert failure_reply(_call("action_pl_route", [])) == {"events": [], "responses": [
        {"response": "utter_action_failed"}]}
    assert failure_reply(["not", "an", "object"])["events"] == []


