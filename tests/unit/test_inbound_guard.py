"""The checks every channel makes before Rasa: length and typed payloads (channels/inbound_guard.py)."""
import asyncio

from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from channels.inbound_guard import MAX_MESSAGE_CHARS, refusal


class FakeStore:
    def __init__(self, trackers):
        self.trackers = trackers

    async def retrieve(self, sender_id):
        return self.trackers.get(sender_id)


class FakeDomain:
    responses = {"utter_message_too_long": [{"text": "terlalu panjang"}],
                 "utter_payload_not_offered": [{"text": "pakai tombol"}]}


class FakeAgent:
    def __init__(self, trackers):
        self.tracker_store, self.domain = FakeStore(trackers), FakeDomain()


def _agent():
    menu = BotUttered("menu", {"buttons": [{"title": "Daftar", "payload": "/register_vaccine"},
                                           {"title": "Ya", "payload": "ya"}]})
    old = BotUttered("lama", {"buttons": [{"title": "Lama", "payload": "/show_ticket"}]})
    tracker = DialogueStateTracker.from_events("u", [old, SessionStarted(), UserUttered("halo"), menu])
    return FakeAgent({"u": tracker})


def check(text, sender="u", typed=True):
    return asyncio.run(refusal(_agent(), sender, text, typed))


def test_an_over_long_message_is_answered_without_the_nlu():
    assert check("a" * MAX_MESSAGE_CHARS) is None
    assert check("a" * (MAX_MESSAGE_CHARS + 1)) == "terlalu panjang"
    assert check("x " * 50_000, typed=False) == "terlalu panjang"


def test_only_payloads_the_bot_offered_in_this_session_pass():
    assert check("/register_vaccine") is None
    assert check("  /register_vaccine ") is None
    assert check("/restart") is None
    for hostile in ('/inform{"submission_reference": 12}', '/inform{"phone_number": 1e309}',
                    "/EXTERNAL_appointment_tomorrow", "/show_ticket", '/register_vaccine{"nik": "1"}'):
        assert check(hostile) == "pakai tombol", hostile
    assert check("/register_vaccine", sender="stranger") == "pakai tombol"


def test_presses_the_channel_vouches_for_and_plain_text_pass():
    assert check("/anything", typed=False) is None
    assert check("mau daftar vaksin / tiket") is None
    assert check("ya") is None


def test_blank_messages_are_asked_to_type_and_control_characters_removed():
    from channels.inbound_guard import cleaned

    FakeDomain.responses["utter_message_empty"] = [{"text": "kosong"}]
    for blank in ("", "   ", "\u200b", "\n\t", "\ufeff \u00a0"):
        assert check(blank) == "kosong"
    assert cleaned("ha\x00lo\x1b\tya\n") == "halo\tya\n"
