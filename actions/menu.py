"""Greeting and the menu, wherever the user is: outside a flow they show the main menu; inside a form
they say which flow is running and how to leave it, and the form then asks its question again
(one general rule each in data/rules/general.yml)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import intent_labels
from actions.forms import flow_of


def _remind_of_form(tracker: Tracker, dispatcher: CollectingDispatcher) -> bool:
    form = (tracker.active_loop or {}).get("name")
    if not form:
        return False
    dispatcher.utter_message(response="utter_form_in_progress", current=intent_labels().get(flow_of(form), "ini"))
    return True


class ActionGreet(Action):
    def name(self) -> Text:
        return "action_greet"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_greet")
        if not _remind_of_form(tracker, dispatcher):
            dispatcher.utter_message(response="utter_main_menu")
        return []


class ActionShowMenu(Action):
    def name(self) -> Text:
        return "action_show_menu"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if not _remind_of_form(tracker, dispatcher):
            dispatcher.utter_message(response="utter_main_menu")
        return []
