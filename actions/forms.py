"""Behaviour shared by every form: patience with invalid answers, numbered answers to button
questions, and resetting a flow's slots.

After MAX_INVALID_ANSWERS invalid answers to the same question the form explains once more what
it needs and offers a human agent or cancelling, instead of asking the same question forever.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.numbered_menu import button_answer

MAX_INVALID_ANSWERS = 3
INVALID_ANSWERS_SLOT = "invalid_answers"


class PatientFormValidationAction(FormValidationAction, ABC):
    """A FormValidationAction that counts invalid answers per requested slot."""

    @abstractmethod
    def name(self) -> Text:
        """validate_<form name>; abstract so that rasa-sdk does not register this base class."""

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: Dict[Text, Any]) -> List[EventType]:
        # A flow's start action clears its slots; those SlotSet(None) events trail into the first
        # validation call as "candidates", but they are not answers and must not be validated.
        candidates = {name: value for name, value in tracker.slots_to_validate().items() if value is not None}
        # A typed number answers a question asked with buttons: "1" under [Ya] [Tidak] means "ya".
        requested = tracker.get_slot("requested_slot")
        answer = button_answer(tracker) if requested in candidates else None
        if answer is not None:
            candidates[requested] = answer
        tracker.slots_to_validate = lambda: candidates
        return await super().get_validation_events(dispatcher, tracker, domain)

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        requested = tracker.get_slot("requested_slot")
        if requested is None or tracker.latest_message.get("intent", {}).get("name") in ("cancel",):
            return events
        rejected = any(e.get("event") == "slot" and e.get("name") == requested and e.get("value") is None
                       for e in events)
        accepted = any(e.get("event") == "slot" and e.get("name") == requested and e.get("value") is not None
                       for e in events)
        counts = dict(tracker.get_slot(INVALID_ANSWERS_SLOT) or {})
        if accepted:
            counts.pop(requested, None)
        elif rejected:
            counts[requested] = counts.get(requested, 0) + 1
            if counts[requested] >= MAX_INVALID_ANSWERS:
                dispatcher.utter_message(response=f"utter_explain_{requested}")
                dispatcher.utter_message(response="utter_offer_help_after_invalid_answers")
                counts[requested] = 0
        else:
            return events
        return events + [SlotSet(INVALID_ANSWERS_SLOT, counts)]


def reset_slots(slot_names, keep: Optional[Dict[str, Any]] = None) -> List[EventType]:
    """SlotSet(None) for every slot of a flow, so the next run of the flow starts fresh."""
    keep = keep or {}
    return [SlotSet(name, keep.get(name)) for name in slot_names]


def ask_numbered_choice(dispatcher: CollectingDispatcher, response: str, lines: List[str],
                        titles: Optional[List[str]] = None, **kwargs: Any) -> None:
    """Asks for one of several options: numbered in the text, so a typed "2" works on every
    channel, and a button per option whose payload is that number."""
    titles = titles or [str(number) for number in range(1, len(lines) + 1)]
    dispatcher.utter_message(response=response,
                             options="\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1)),
                             buttons=[{"title": title, "payload": str(number)}
                                      for number, title in enumerate(titles, start=1)], **kwargs)
