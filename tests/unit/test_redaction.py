import asyncio

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from actions.sealing import seal, unseal
from rasa_extensions.redaction import REDACTED, redact_event, redact_text
from rasa_extensions.tracker_store import RedactingTrackerStore


def test_digit_runs_are_hidden_by_length():
    assert redact_text("kodenya 482913") == "kodenya ******"
    assert redact_text("NIK 3171 0553 0690 0012") == "NIK ************0012"
    assert redact_text("hp +62 812-3456-7890 ya") == "hp *********7890 ya"
    assert redact_text("pilih 2, sesi 13.00") == "pilih 2, sesi 13.00"
    assert redact_text(None) is None


def test_user_events_lose_personal_data_in_text_and_parse_data():
    event = {"event": "user", "text": "482913", "parse_data": {
        "text": "482913", "intent": {"name": "inform"},
        "entities": [{"entity": "otp", "value": "482913", "text": "482913"}]}}
    redacted = redact_event(event)
    assert "482913" not in str(redacted)
    assert redacted["parse_data"]["intent"] == {"name": "inform"}
    assert event["text"] == "482913"  # the original is not modified


def test_sensitive_slots_keep_only_sealed_values():
    sealed = seal("+6281234567890")
    assert redact_event({"event": "slot", "name": "pl_phone", "value": "081234567890"})["value"] == REDACTED
    assert redact_event({"event": "slot", "name": "pl_phone", "value": sealed})["value"] == sealed
    assert redact_event({"event": "slot", "name": "pl_otp", "value": None})["value"] is None
    assert redact_event({"event": "slot", "name": "site_name", "value": "RSUD 2021"})["value"] == "RSUD 2021"
    assert unseal(sealed) == "+6281234567890" and unseal(REDACTED) is None and unseal("enc:garbage") is None


def test_the_store_persists_the_redacted_conversation_only():
    domain = Domain.from_dict({"slots": {"pl_otp": {"type": "any", "mappings": [{"type": "custom"}]},
                                         "pl_phone": {"type": "any", "mappings": [{"type": "custom"}]}}})
    store = RedactingTrackerStore(domain, inner={"type": "in_memory"})
    tracker = DialogueStateTracker.from_events("u1", [
        ActionExecuted("action_listen"), UserUttered("081234567890"), SlotSet("pl_phone", seal("+6281234567890")),
        ActionExecuted("action_listen"), UserUttered("482913"), SlotSet("pl_otp", "482913"),
    ], slots=domain.slots)
    asyncio.run(store.save(tracker))
    assert isinstance(store._inner, InMemoryTrackerStore)
    stored = store._inner.store["u1"]
    assert "482913" not in stored and "081234567890" not in stored and "6281234567890" not in stored
    retrieved = asyncio.run(store.retrieve("u1"))
    assert unseal(retrieved.get_slot("pl_phone")) == "+6281234567890"
    assert retrieved.get_slot("pl_otp") == REDACTED
    assert tracker.latest_message.text == "482913"  # the live tracker of the turn keeps what it needs
