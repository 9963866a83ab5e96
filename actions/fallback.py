"""When the bot is unsure: "Maksud Anda …?" with the likeliest intents as buttons, then handoff.

Rasa's two-stage fallback calls `action_default_ask_affirmation` first; the button labels come
from data/intent_labels.csv, which trainers edit. A human handoff marks the conversation
(`handoff_requested`) so operators can find it (README, "Human handoff").
"""
from __future__ import annotations

import csv
import functools
from pathlib import Path
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

LABELS_FILE = Path(__file__).resolve().parents[1] / "data" / "intent_labels.csv"
MAX_SUGGESTIONS = 3
# "faq" is a retrieval intent: without its topic there is nothing to answer, so it is never a button.
NOT_SUGGESTED = {"nlu_fallback", "inform", "affirm", "deny", "out_of_scope", "faq"}


@functools.lru_cache(maxsize=None)
def intent_labels() -> Dict[str, str]:
    with LABELS_FILE.open(encoding="utf-8") as handle:
        return {row["intent"]: row["label"] for row in csv.DictReader(handle)}


class ActionDefaultAskAffirmation(Action):
    def name(self) -> Text:
        return "action_default_ask_affirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        labels = intent_labels()
        ranking = tracker.latest_message.get("intent_ranking") or []
        candidates = [r["name"] for r in ranking if r.get("name") in labels and r["name"] not in NOT_SUGGESTED]
        buttons = [{"title": labels[name], "payload": f"/{name}"} for name in candidates[:MAX_SUGGESTIONS]]
        buttons.append({"title": "Bukan keduanya" if len(buttons) == 2 else "Bukan semuanya", "payload": "/deny"})
        options = "\n".join(f"{number}. {button['title']}" for number, button in enumerate(buttons, start=1))
        dispatcher.utter_message(response="utter_ask_affirmation", buttons=buttons, options=options)
        return []


class ActionHumanHandoff(Action):
    def name(self) -> Text:
        return "action_human_handoff"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_human_handoff")
        events: List[EventType] = [SlotSet("handoff_requested", True)]
        if (tracker.active_loop or {}).get("name"):
            # Inside a form: the form ends here (an agent takes the conversation over).
            events = [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet("pending_interruption", None)] + events
        return events
