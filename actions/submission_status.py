"""A user asks about a request by its reference: a health worker's submitted data (NKS-…, the
registration service) or the move of an account whose number was lost (REC-…, the certificate service)."""
from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.api.errors import BackendUnavailable, NotFound
from actions.backend_calls import off_loop, registration_client
from actions.parsing import entity_texts, submission_reference
from actions.pedulilindungi.recovery import answer_recovery_status


class ActionSubmissionStatus(Action):
    def name(self) -> Text:
        return "action_submission_status"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        typed = next(iter(entity_texts(tracker.latest_message, "submission_reference")), None)
        reference = submission_reference(typed or tracker.latest_message.get("text") or "")
        if reference is None:
            dispatcher.utter_message(response="utter_ask_submission_reference")
            return []
        if reference.startswith("REC-"):
            return await answer_recovery_status(reference, dispatcher)
        try:
            submission = await off_loop(registration_client().submission, reference)
        except NotFound:
            dispatcher.utter_message(response="utter_submission_not_found", reference=reference)
            return []
        except BackendUnavailable:
            dispatcher.utter_message(response="utter_backend_unavailable")
            return []
        dispatcher.utter_message(response=f"utter_submission_{submission.status}", reference=submission.reference)
        return [SlotSet("submission_reference", submission.reference)]
