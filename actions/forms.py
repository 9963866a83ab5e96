"""Behaviour shared by every form, written once: interruptions, changes of mind, values the user already
gave, numbered answers to button questions, patience with invalid answers, resetting a flow's slots.

Every form's validation action subclasses PatientFormValidationAction. On each message inside a form,
before the question's own validation (actions/interruptions.py decides what a message means):
1. the answer to a question this mechanism asked itself (`interruption_answer`: "cancel?", "switch?");
2. a change of mind about an earlier step (`change_steps` of the form): that step is asked again,
   everything else is kept, and the bot says so;
3. a cancellation: "batal" leaves at once, "ga jadi" after some progress is confirmed first;
4. a request that starts another flow: offered as a switch; the form's own flow: "you are in it";
5. otherwise the answer: the requested slot from the text, and every slot of `entity_slots` the
   message's entities fill ("saya perawat" answers "are you a health worker?"); a number under [Ya]
   [Tidak] buttons is that button.
Leaving the form (a confirmed cancel or switch) ends it like a finished form, so the form's own
"done" rule runs its next action; every such action is an AfterFormAction, which first checks whether
the user left: then it says what was lost and, for a switch, starts the other flow as if the user had
just asked for it (`leave_form`), instead of finishing the flow.
After MAX_INVALID_ANSWERS invalid answers to the same question the form explains once more what it
needs and offers a human agent or cancelling, instead of asking the same question forever.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Mapping, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT, FormValidationAction

from actions import parsing
from actions.fallback import intent_labels
from actions.interruptions import (FLOW_START_INTENTS, IGNORED_BY_FORMS, RESUMING_INTENTS, SWITCH_CONFIDENCE,
                                   ChangeStep, cancel_kind, step_back, switch_target)
from actions.numbered_menu import as_users_turn, button_answer

MAX_INVALID_ANSWERS = 3
INVALID_ANSWERS_SLOT = "invalid_answers"
PENDING_SLOT = "pending_interruption"
ANSWER_SLOT = "interruption_answer"

# Which flow each form belongs to, by the intent that starts it (its label names it to the user).
FORM_FLOWS: Dict[str, str] = {
    "vaccine_registration_form": "register_vaccine",
    "ticket_lookup_form": "show_ticket",
    "missing_health_worker_form": "not_registered",
    "account_recovery_form": "recover_account",
}
PEDULILINDUNGI_FLOW = "pedulilindungi_help"


def flow_of(form: Optional[str]) -> str:
    return FORM_FLOWS.get(form or "", PEDULILINDUNGI_FLOW)


def latest_intent(tracker: Tracker) -> Tuple[Optional[str], float]:
    intent = tracker.latest_message.get("intent") or {}
    confidence = intent.get("confidence")
    return intent.get("name"), float(confidence) if isinstance(confidence, (int, float)) else 0.0


def latest_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text")
    return text if isinstance(text, str) else ""


class PatientFormValidationAction(FormValidationAction, ABC):
    """A FormValidationAction with the shared behaviour above; subclasses declare their steps and values."""

    # The earlier steps a user may go back to, most specific first.
    change_steps: Sequence[ChangeStep] = ()
    # slot -> entity: values the NLU finds in any message of the form fill these questions.
    entity_slots: Mapping[str, str] = {}
    # The intents that start this form's own flow (asking for it again is "you are in it already").
    own_intents: Sequence[str] = ()
    # Questions whose answer is free text (a name): any text passes their validation.
    free_text_slots: Sequence[str] = ()

    @abstractmethod
    def name(self) -> Text:
        """validate_<form name>; abstract so that rasa-sdk does not register this base class."""

    # -- what a message in the form means ---------------------------------------------------------

    async def get_validation_events(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                    domain: Dict[Text, Any]) -> List[EventType]:
        requested = tracker.get_slot(REQUESTED_SLOT)
        text, (intent, confidence) = latest_text(tracker), latest_intent(tracker)
        if requested is None or (tracker.active_loop or {}).get("name") != self.form_name():
            return await self._validated_answer(dispatcher, tracker, domain)  # the form is starting
        pending = tracker.get_slot(PENDING_SLOT)
        if requested == ANSWER_SLOT and isinstance(pending, dict):
            return await self._answer_to_pending(pending, dispatcher, tracker, domain)
        step = step_back(text, self.change_steps, tracker.slots)
        if step is not None:
            dispatcher.utter_message(response=step.response)
            return _dropped_candidates(tracker) + [SlotSet(slot, None) for slot in step.clears]
        kind = cancel_kind(text, intent, confidence)
        if kind == "explicit" or (kind == "soft" and not self._has_progress(tracker, domain)):
            return _dropped_candidates(tracker) + self._leave({"kind": "cancel", "form": self.form_name()})
        if kind == "soft":
            return _dropped_candidates(tracker) + [
                SlotSet(PENDING_SLOT, {"kind": "cancel", "form": self.form_name(), "slot": requested})]
        cannot = self.cannot_answer(requested, text, dispatcher)
        if cannot is not None:
            return _dropped_candidates(tracker) + cannot
        target = switch_target(intent, confidence, self._own_intents())
        asks_for_own_flow = intent in self._own_intents() and confidence >= SWITCH_CONFIDENCE
        interrupts = intent in RESUMING_INTENTS or target or asks_for_own_flow
        if interrupts and requested in self.free_text_slots:
            # Any text is a valid name: a greeting, a question or a request for a flow is not taken as one.
            return [] if intent in RESUMING_INTENTS else self._offer(target, requested, dispatcher, tracker)
        said_before = len(dispatcher.messages)
        events = await self._validated_answer(dispatcher, tracker, domain)
        if interrupts and not _accepted(events, requested):
            # Not an answer to the question ("sabtu pagi" may read as a greeting, and then it is an
            # answer): a question, a greeting or a request for a flow, handled as such instead of "invalid".
            del dispatcher.messages[said_before:]
            if intent in RESUMING_INTENTS:
                return []  # the form steps aside: a general rule answers, then the form asks again
            return self._offer(target, requested, dispatcher, tracker)
        return events

    def cannot_answer(self, requested: str, text: str, dispatcher: CollectingDispatcher) -> Optional[List[EventType]]:
        """When the message says the user cannot answer the question at all (e.g. the number a code would
        go to is lost), a form answers with the way forward and returns the events (the question stays);
        None otherwise, as by default."""
        return None

    def _offer(self, target: Optional[str], requested: Optional[str], dispatcher: CollectingDispatcher,
               tracker: Tracker) -> List[EventType]:
        if target is None:  # the form's own flow: it is already running
            dispatcher.utter_message(response="utter_form_in_progress",
                                     current=intent_labels().get(flow_of(self.form_name()), "ini"))
            return _dropped_candidates(tracker) + [SlotSet(INVALID_ANSWERS_SLOT, tracker.get_slot(INVALID_ANSWERS_SLOT))]
        return _dropped_candidates(tracker) + [switch_offer(target, self.form_name(), requested)]

    async def _validated_answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: Dict[Text, Any]) -> List[EventType]:
        # A flow's start action clears its slots; those SlotSet(None) events trail into the first
        # validation call as "candidates", but they are not answers and must not be validated.
        candidates = {name: value for name, value in tracker.slots_to_validate().items() if value is not None}
        requested = tracker.get_slot(REQUESTED_SLOT)
        intent, _ = latest_intent(tracker)
        if requested and requested not in candidates and intent in IGNORED_BY_FORMS and latest_text(tracker):
            # An intent the forms ignore, that is not an interruption after all: the text is the answer.
            candidates[requested] = latest_text(tracker)
        for slot, value in self._entity_candidates(tracker).items():
            if slot == requested or tracker.get_slot(slot) is None:
                candidates[slot] = value
        # A typed number answers a question asked with buttons: "1" under [Ya] [Tidak] means "ya".
        answer = button_answer(tracker) if requested in candidates else None
        if answer is not None:
            candidates[requested] = answer
        tracker.slots_to_validate = lambda: candidates
        return await super().get_validation_events(dispatcher, tracker, domain)

    def _entity_candidates(self, tracker: Tracker) -> Dict[str, str]:
        found: Dict[str, str] = {}
        for slot, entity in self.entity_slots.items():
            values = parsing.entity_texts(tracker.latest_message, entity)
            if values:
                found[slot] = values[0]
        return found

    def _own_intents(self) -> Sequence[str]:
        return tuple(self.own_intents) or (flow_of(self.form_name()),)

    def _has_progress(self, tracker: Tracker, domain: Dict[Text, Any]) -> bool:
        required = (domain.get("forms", {}).get(self.form_name()) or {}).get("required_slots") or []
        return any(tracker.get_slot(slot) is not None for slot in required)

    # -- the questions this mechanism asks itself -------------------------------------------------

    async def _answer_to_pending(self, pending: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: Dict[Text, Any]) -> List[EventType]:
        answer = button_answer(tracker)
        yes = parsing.yes_or_no(answer if answer is not None else latest_text(tracker), latest_intent(tracker)[0])
        if yes is True or (pending.get("kind") == "cancel" and cancel_kind(latest_text(tracker), None, 0) == "explicit"):
            return self._leave(dict(pending))
        clear = [SlotSet(PENDING_SLOT, None)]
        if yes is False:
            dispatcher.utter_message(response="utter_form_continues")
            return clear
        # Neither: the message is an answer to the form's own question after all.
        original = pending.get("slot")
        tracker.slots[PENDING_SLOT] = None
        if isinstance(original, str) and original != ANSWER_SLOT:
            tracker.slots[REQUESTED_SLOT] = original
            tracker.slots_to_validate = lambda: {original: latest_text(tracker)}
            return clear + await self._validated_answer(dispatcher, tracker, domain)
        return clear

    def _leave(self, pending: Dict[str, Any]) -> List[EventType]:
        # The form ends (no slot to request): its "done" rule runs its AfterFormAction, which reads
        # `pending_interruption` and leaves instead of finishing.
        return [SlotSet(PENDING_SLOT, dict(pending, leave=True))]

    async def next_requested_slot(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: Dict[Text, Any]) -> Optional[EventType]:
        pending = tracker.get_slot(PENDING_SLOT)
        if isinstance(pending, dict):
            return SlotSet(REQUESTED_SLOT, None if pending.get("leave") else ANSWER_SLOT)
        return await super().next_requested_slot(dispatcher, tracker, domain)

    # -- patience ----------------------------------------------------------------------------------

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[EventType]:
        events = await super().run(dispatcher, tracker, domain)
        requested = tracker.get_slot(REQUESTED_SLOT)
        if requested is None or requested == ANSWER_SLOT or any(
                e.get("event") == "slot" and e.get("name") == PENDING_SLOT for e in events):
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


def switch_offer(intent: str, form: str, requested: Optional[str], ask: Optional[str] = None) -> EventType:
    """The question "stop this form and start `intent`'s flow?", pending until answered; `ask` is a
    response of the form's own that asks it (else the generic one, naming both flows)."""
    pending = {"kind": "switch", "intent": intent, "form": form, "slot": requested}
    return SlotSet(PENDING_SLOT, dict(pending, ask=ask) if ask else pending)


class ActionAskInterruptionAnswer(Action):
    """Asks the question the shared mechanism needs answered: cancel the flow? switch to another one?"""

    def name(self) -> Text:
        return f"action_ask_{ANSWER_SLOT}"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        pending = tracker.get_slot(PENDING_SLOT) or {}
        if isinstance(pending.get("ask"), str):   # an offer a form made itself (e.g. a lost number's way out)
            dispatcher.utter_message(response=pending["ask"])
            return []
        labels = intent_labels()
        current = labels.get(flow_of(pending.get("form") or tracker.active_loop.get("name")), "proses ini")
        if pending.get("kind") == "switch":
            dispatcher.utter_message(response="utter_ask_switch_flow", current=current,
                                     target=labels.get(pending.get("intent"), "layanan lain"))
        else:
            dispatcher.utter_message(response="utter_ask_cancel_flow", current=current)
        return []


class AfterFormAction(Action, ABC):
    """The action a form's "done" rule runs. When the user left the form (a confirmed cancel or a switch
    to another flow) it leaves instead of finishing: says what was lost, forgets the flow's answers and,
    for a switch, starts the other flow as if the user had just asked for it."""

    # Events that tell the form's rules the flow is over when it was left (e.g. an outcome "left").
    left_events: Sequence[EventType] = ()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        pending = tracker.get_slot(PENDING_SLOT)
        if isinstance(pending, dict) and pending.get("leave"):
            return list(self.left_events) + await self.on_leave(tracker) + leave_form(pending, dispatcher, tracker,
                                                                                       domain)
        return await self.after_form(dispatcher, tracker, domain)

    async def on_leave(self, tracker: Tracker) -> List[EventType]:
        """What the flow undoes when the user leaves it (e.g. ends a verification); nothing by default."""
        return []

    @abstractmethod
    async def after_form(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                         domain: Dict[Text, Any]) -> List[EventType]:
        """What the flow does when its form is done."""


def leave_form(pending: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker,
               domain: Dict[Text, Any]) -> List[EventType]:
    form = pending.get("form") or ""
    required = (domain.get("forms", {}).get(form) or {}).get("required_slots") or []
    events: List[EventType] = [SlotSet(PENDING_SLOT, None), SlotSet(INVALID_ANSWERS_SLOT, None)] + reset_slots(required)
    current = intent_labels().get(flow_of(form), "proses ini")
    if pending.get("kind") == "switch" and pending.get("intent") in FLOW_START_INTENTS:
        if not pending.get("ask"):   # the form's own offer (the user just said yes to it) needs no notice
            dispatcher.utter_message(response="utter_flow_switched", current=current)
        intent = pending["intent"]
        return events + as_users_turn(tracker, f"/{intent}", intent, [])
    dispatcher.utter_message(response="utter_cancelled", current=current)
    dispatcher.utter_message(response="utter_main_menu")
    return events


def _dropped_candidates(tracker: Tracker) -> List[EventType]:
    """The message was not an answer: what Rasa took from its text into the asked slot is undone, so
    no raw, unvalidated text stays in a slot."""
    return [SlotSet(name, None) for name, value in tracker.slots_to_validate().items() if value is not None]


def _accepted(events: List[EventType], slot: Optional[str]) -> bool:
    return any(e.get("event") == "slot" and e.get("name") == slot and e.get("value") is not None for e in events)


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
