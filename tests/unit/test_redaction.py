"""What the tracker store keeps: privacy.events / privacy.slots / privacy.text, and the store itself."""
import asyncio

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_sdk import Tracker

from actions.sealing import seal, unseal
from privacy.events import EventRedactor, redact_events
from privacy.slots import REDACTED, stored_slot_value
from privacy.text import hide_numbers
from rasa_extensions.tracker_store import RedactingTrackerStore, redacted


def _sealed(slot, value, sender="u1"):
    return seal(Tracker(sender, {}, {}, [], False, None, None, None), slot, value)


def _opened(slot, value, sender="u1"):
    return unseal(Tracker(sender, {}, {}, [], False, None, None, None), slot, value)


@pytest.mark.parametrize("typed, hidden", [
    ("kodenya 482913", "482913"),
    ("NIK 3171 0553 0690 0012", "3171 0553 0690"),
    ("hp +62 812-3456-7890 ya", "812-3456"),
    ("0812 - 3456 - 7890", "0812 - 3456"),
    ("3171  0553  0690  0012", "3171  0553"),
    ("123 - 456", "123 - 456"),
    ("1 2 3 4 5 6", "1 2 3 4 5 6"),
    ("(0812) 3456.7890", "3456.7890"),
    ("nik3171055306900012", "31710553069"),
    ("lahir 15/03/1985", "15/03/1985"),
])
def test_numbers_are_hidden_in_every_spelling_the_bot_reads(typed, hidden):
    assert hidden not in hide_numbers(typed)


def test_short_numbers_stay():
    assert hide_numbers("pilih 2, sesi 13.00, tahun 2021") == "pilih 2, sesi 13.00, tahun 2021"
    assert hide_numbers("NIK ************0012") == "NIK ************0012"  # idempotent
    assert hide_numbers(None) is None


def test_slots_are_default_deny():
    sealed = _sealed("pl_phone", "+6281234567890")
    assert stored_slot_value("pl_phone", "081234567890") == REDACTED
    assert stored_slot_value("pl_phone", sealed) == sealed
    assert stored_slot_value("some_new_slot", "anything at all") == REDACTED
    # A flag slot keeps a flag, never the text typed at its question.
    assert stored_slot_value("is_health_worker", True) is True
    assert stored_slot_value("is_health_worker", "3171055306900012") == REDACTED
    assert stored_slot_value("slot_choice", "2") == "2"
    assert stored_slot_value("slot_choice", "tgl 7 desember 081234567890") == REDACTED
    assert stored_slot_value("pl_otp", "verified") == "verified"
    assert stored_slot_value("pl_otp", "482913") == REDACTED
    assert stored_slot_value("requested_slot", "nik_suffix") == "nik_suffix"
    assert stored_slot_value("submission_profession", "perawat") == "perawat"
    assert stored_slot_value("submission_profession", "perawat 0812345678") == REDACTED
    assert _opened("pl_phone", sealed) == "+6281234567890"
    assert _opened("pl_phone", REDACTED) is None and _opened("pl_phone", "enc:garbage") is None
    # Bound to its conversation and its slot.
    assert _opened("pl_phone", sealed, sender="someone-else") is None and _opened("pl_token", sealed) is None


def _user(text, entities=(), **extra):
    return {"event": "user", "text": text, "parse_data": {"text": text, "intent": {"name": "inform"},
                                                         "entities": list(entities)}, **extra}


def test_an_answer_to_a_personal_question_is_not_stored():
    events = redact_events([
        {"event": "slot", "name": "requested_slot", "value": "pl_phone"},
        _user("nomor saya kosong delapan satu dua"),
        {"event": "slot", "name": "requested_slot", "value": "is_health_worker"},
        _user("ya saya perawat, nik 3171055306900012"),
        {"event": "active_loop", "name": None},
        {"event": "slot", "name": "requested_slot", "value": None},
        _user("halo"),
    ])
    assert events[1]["text"] == REDACTED and events[1]["parse_data"]["text"] == REDACTED
    assert events[3]["text"] == "ya saya perawat, nik ************0012"
    assert events[6]["text"] == "halo"


def test_entities_names_metadata_and_message_ids_are_cleaned():
    [event] = redact_events([_user(
        "nama saya Siti Rahmawati, hp 081234567890",
        [{"entity": "person_name", "value": "Siti Rahmawati", "text": "Siti Rahmawati", "start": 10, "end": 24},
         {"entity": "phone_number", "value": "+6281234567890", "text": "081234567890"},
         {"entity": "submission_reference", "value": 12}],
        metadata={"whatsapp": {"type": "text", "from": "6281234567890"}, "client": "anything"},
        message_id="wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYFjNFQjA")])
    stored = str(event)
    for personal in ("Siti", "Rahmawati", "081234567890", "6281234567890", "NjI4MTIzNDU2Nzg5MB", "anything"):
        assert personal not in stored
    assert event["metadata"] == {"whatsapp": {"type": "text"}}
    assert event["parse_data"]["entities"][2]["value"] == REDACTED  # typed JSON is never stored
    assert event["parse_data"]["intent"] == {"name": "inform"}


def test_redaction_is_idempotent():
    events = [{"event": "slot", "name": "requested_slot", "value": "nik_suffix"}, _user("900012"),
              {"event": "slot", "name": "nik_suffix", "value": "900012"}, _user("saya 0812 3456 7890")]
    once = redact_events(events)
    assert redact_events(once) == once


def test_the_store_persists_the_redacted_conversation_only():
    domain = Domain.from_dict({"slots": {name: {"type": "any", "mappings": [{"type": "custom"}]}
                                         for name in ("pl_otp", "pl_phone", "requested_slot_x")}})
    store = RedactingTrackerStore(domain, inner={"type": "in_memory"})
    tracker = DialogueStateTracker.from_events("u1", [
        ActionExecuted("action_listen"), UserUttered("081234567890"), SlotSet("pl_phone", _sealed("pl_phone", "+6281234567890")),
        ActionExecuted("action_listen"), UserUttered("482913"), SlotSet("pl_otp", "482913"),
    ], slots=domain.slots)
    asyncio.run(store.save(tracker))
    assert isinstance(store._inner, InMemoryTrackerStore)
    stored = store._inner.store["u1"]
    assert "482913" not in stored and "081234567890" not in stored and "6281234567890" not in stored
    retrieved = asyncio.run(store.retrieve("u1"))
    assert _opened("pl_phone", retrieved.get_slot("pl_phone")) == "+6281234567890"
    assert retrieved.get_slot("pl_otp") == REDACTED
    assert tracker.latest_message.text == "482913"  # the live tracker of the turn keeps what it needs


def test_the_lean_redaction_gives_the_same_tracker_as_rebuilding_every_event():
    tracker = DialogueStateTracker("someone", [])
    for event in (UserUttered("kode saya 482913", {"name": "inform"}, parse_data={"text": "kode saya 482913"}),
                  ActionExecuted("verification_form"), ActiveLoop("verification_form"),
                  SlotSet("requested_slot", "pl_otp"), SlotSet("pl_otp", "482913"), SlotSet("pl_token", "enc:x"),
                  BotUttered("Terima kasih"), UserUttered("123 - 456", {"name": "inform"}),
                  ActionExecuted("action_listen")):
        tracker.update(event)
    redactor = EventRedactor()
    in_full = [Event.from_parameters(redactor.redact(e.as_dict())) for e in tracker.events]
    lean = redacted(tracker)
    assert [e.as_dict() for e in lean.events] == [e.as_dict() for e in in_full]
    stored = str([e.as_dict() for e in lean.events])
    assert "482913" not in stored and "123 - 456" not in stored
    assert lean.events[6] is tracker.events[6]          # events that cannot hold personal data are reused
