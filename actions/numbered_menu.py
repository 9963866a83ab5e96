"""Typed numbers for menus, like UMB *119#: "2" picks the second button of the bot's last message.

Buttons whose payload is an intent (`/register_vaccine`) are menus that start a flow. A value typed
outside any form (intent `inform`) comes to ActionRouteTypedValue (rule in data/rules/general.yml):
a menu number replays the chosen payload as the user's message, so the flow starts exactly as if
the button had been pressed, on every channel; a submission reference is replayed as a request for its status; anything
else is told that no question is pending and gets the menu.
Buttons whose payload is a plain answer ("ya") are handled inside forms (actions/forms.py).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, UserUttered
from rasa_sdk.executor import CollectingDispatcher

from actions import parsing

_INTENT_PAYLOAD = re.compile(r"^/([A-Za-z0-9_]+)$")


def buttons_shown_before_latest_message(tracker: Tracker) -> List[Dict[str, Any]]:
    """The buttons of the bot's last message before the user's latest one ([] if it had none).

    Reads the raw event list: a two-stage fallback reverts its "Maksud Anda …?" turn, but the user
    saw those buttons and may answer them with a number.
    """
    seen_latest_user_message, reverted_turns = False, 0
    for event in reversed(tracker.events):
        kind = event.get("event")
        if kind == "rewind":
            reverted_turns += 1  # the user message before it was replayed after it: the same turn
        elif kind == "user":
            if reverted_turns:
                reverted_turns -= 1
                continue
            if seen_latest_user_message:
                return []
            seen_latest_user_message = True
        elif kind == "bot" and seen_latest_user_message:
            buttons = (event.get("data") or {}).get("buttons") or []
            if buttons:
                return buttons
    return []


def typed_number(tracker: Tracker) -> Optional[int]:
    """The option number the user typed ("2", "nomor 2", "yang ke-2"), None if the message is not one."""
    numbers = [n for n in parsing.entity_texts(tracker.latest_message, "option_number") if n.isdigit()]
    if numbers:
        return int(numbers[0])
    text = tracker.latest_message.get("text")
    return parsing.choice_number(text if isinstance(text, str) else "", 99)


def typed_option(tracker: Tracker, options: int) -> Optional[int]:
    """The 1-based option number the user typed, if the latest message is one and it is in range."""
    number = typed_number(tracker)
    return number if number is not None and 1 <= number <= options else None


def button_answer(tracker: Tracker) -> Optional[str]:
    """The payload of the button whose number the user typed, when that button is a plain answer."""
    buttons = buttons_shown_before_latest_message(tracker)
    choice = typed_option(tracker, len(buttons)) if buttons else None
    if choice is None:
        return None
    payload = str(buttons[choice - 1].get("payload", ""))
    return None if payload.startswith("/") else payload


class ActionRouteTypedValue(Action):
    def name(self) -> Text:
        return "action_route_typed_value"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        if parsing.entity_texts(tracker.latest_message, "submission_reference"):
            # As if the user had asked for the status with it: the rule for check_submission_status
            # looks it up and then listens (a FollowupAction left the rules with no next step, and
            # the core fallback spoke after the answer).
            return as_users_turn(tracker, tracker.latest_message.get("text") or "", "check_submission_status",
                                 tracker.latest_message.get("entities") or [])
        buttons = [b for b in buttons_shown_before_latest_message(tracker)
                   if _INTENT_PAYLOAD.match(str(b.get("payload", "")))]
        number = typed_number(tracker)
        if not buttons or number is None:
            # A value nobody asked for (a stray name or number): say so and show what the bot can do.
            dispatcher.utter_message(response="utter_no_question_pending")
            dispatcher.utter_message(response="utter_main_menu")
            return []
        if not 1 <= number <= len(buttons):
            # The same buttons again, so that the next number still refers to them.
            dispatcher.utter_message(response="utter_option_not_in_menu", options=len(buttons), buttons=buttons)
            return []
        payload = str(buttons[number - 1]["payload"])
        # As if the button had been pressed.
        return as_users_turn(tracker, payload, _INTENT_PAYLOAD.match(payload).group(1), [])


def as_users_turn(tracker: Tracker, text: str, intent: str, entities: List[Dict[str, Any]]) -> List[EventType]:
    """A new user turn with a sure intent, so that the dialogue rules of that intent take it from here."""
    return [ActionExecuted("action_listen"),
            UserUttered(text, parse_data={"intent": {"name": intent, "confidence": 1.0}, "entities": entities,
                                          "text": text},
                        input_channel=tracker.get_latest_input_channel())]
