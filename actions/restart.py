"""`/restart` (Rasa's default intent, typed on any channel): overrides Rasa's `action_restart` so that
starting over also ends what the conversation proved (a PeduliLindungi verification), not only forgets
it. Rasa calls this action instead of its own because `action_restart` is listed in the domain."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted
from rasa_sdk.executor import CollectingDispatcher

from actions.pedulilindungi.session import end_verification


class ActionRestartEndingVerification(Action):
    def name(self) -> Text:
        return "action_restart"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        await end_verification(tracker)
        dispatcher.utter_message(response="utter_restart")   # Rasa's own utters it too: never an empty reply
        return [Restarted()]
