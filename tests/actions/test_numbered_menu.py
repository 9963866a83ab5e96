"""Typed numbers for menus and button questions (actions/numbered_menu.py)."""
import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.numbered_menu import ActionRouteTypedValue, button_answer, buttons_shown_before_latest_message

MAIN_MENU = [{"title": "Daftar vaksinasi nakes", "payload": "/register_vaccine"},
             {"title": "Lihat tiket vaksinasi", "payload": "/show_ticket"},
             {"title": "Hubungi petugas", "payload": "/human_handoff"}]
YES_NO = [{"title": "Ya", "payload": "ya"}, {"title": "Tidak", "payload": "tidak"}]


def tracker_after(bot_buttons, text, entities=(), earlier=()):
    events = [*earlier,
              {"event": "user", "text": "halo", "parse_data": {"intent": {"name": "greet"}}},
              {"event": "bot", "text": "Selamat datang"},
              {"event": "bot", "text": "Ada yang bisa kami bantu?", "data": {"buttons": bot_buttons}},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform"}}, "input_channel": "rest"}]
    latest = {"text": text, "intent": {"name": "inform", "confidence": 0.9}, "entities": list(entities)}
    return Tracker("u", {}, latest, events, False, None, {}, "action_listen")


def run(tracker):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionRouteTypedValue().run(dispatcher, tracker, {}))
    return dispatcher.messages, events


def test_a_typed_number_replays_that_button_as_the_users_message():
    messages, events = run(tracker_after(MAIN_MENU, "2", [{"entity": "option_number", "value": "2"}]))
    assert messages == []
    assert [e["event"] for e in events] == ["action", "user"]
    assert events[0]["name"] == "action_listen"
    assert events[1]["text"] == "/show_ticket"
    assert events[1]["parse_data"]["intent"] == {"name": "show_ticket", "confidence": 1.0}
    assert events[1]["input_channel"] == "rest"


def test_number_phrasings_without_the_entity_still_work():
    _, events = run(tracker_after(MAIN_MENU, "yang ke 3"))
    assert events[1]["parse_data"]["intent"]["name"] == "human_handoff"


def test_a_number_beyond_the_menu_is_told_the_range_and_nothing_is_replayed():
    messages, events = run(tracker_after(MAIN_MENU, "7", [{"entity": "option_number", "value": "7"}]))
    assert events == []
    assert messages[0]["response"] == "utter_option_not_in_menu" and messages[0]["options"] == 3
    assert messages[0]["buttons"] == MAIN_MENU  # still answerable by number


def test_a_value_nobody_asked_for_gets_the_main_menu():
    messages, events = run(tracker_after([], "Siti Aminah"))
    assert events == []
    assert [m["response"] for m in messages] == ["utter_no_question_pending", "utter_main_menu"]


def test_only_the_bots_last_turn_counts():
    earlier = [{"event": "user", "text": "menu"}, {"event": "bot", "text": "menu", "data": {"buttons": MAIN_MENU}}]
    tracker = tracker_after([], "1", earlier=earlier)
    assert buttons_shown_before_latest_message(tracker) == []


def test_buttons_answered_after_a_two_stage_fallback_replayed_the_message():
    # "Maksud Anda …?" was shown, the user typed "1", and the fallback reverted and replayed that message.
    events = [{"event": "user", "text": "sertif", "parse_data": {"intent": {"name": "nlu_fallback"}}},
              {"event": "bot", "text": "Maksud Anda salah satu dari ini?", "data": {"buttons": MAIN_MENU}},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "1", "parse_data": {"intent": {"name": "inform"}}},
              {"event": "rewind"},
              {"event": "action", "name": "action_listen"},
              {"event": "user", "text": "1", "parse_data": {"intent": {"name": "inform"}}}]
    tracker = Tracker("u", {}, {"text": "1", "intent": {"name": "inform"}, "entities": []}, events, False, None,
                      {}, "action_listen")
    assert buttons_shown_before_latest_message(tracker) == MAIN_MENU


def test_a_number_under_a_yes_no_question_is_that_answer():
    assert button_answer(tracker_after(YES_NO, "1")) == "ya"
    assert button_answer(tracker_after(YES_NO, "2")) == "tidak"
    assert button_answer(tracker_after(YES_NO, "3")) is None
    assert button_answer(tracker_after(MAIN_MENU, "1")) is None  # intents are menus, not answers
    assert button_answer(tracker_after(YES_NO, "ya dong")) is None


def test_a_reference_typed_on_its_own_is_replayed_as_a_status_request_with_it():
    entities = [{"entity": "submission_reference", "value": "NKS-AB23CD45"}]
    messages, events = run(tracker_after([], "NKS-AB23CD45", entities))
    assert messages == []
    assert [e["event"] for e in events] == ["action", "user"]
    assert events[0]["name"] == "action_listen"
    assert events[1]["text"] == "NKS-AB23CD45" and events[1]["input_channel"] == "rest"
    assert events[1]["parse_data"]["intent"] == {"name": "check_submission_status", "confidence": 1.0}
    assert events[1]["parse_data"]["entities"] == entities
