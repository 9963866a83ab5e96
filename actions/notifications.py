"""Outbound notifications inside the conversation, and the user's opt-out / opt-in.

The notification service triggers `EXTERNAL_<template>` intents through Rasa's external-events
API with the values to show as entities; the actions here turn them into polite Indonesian
messages. STOP / "mulai notifikasi" store the choice in the notification service, keyed by this
conversation (channel + sender id), which the sender checks before every message.
"""
from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import parsing
from actions.api.errors import BackendError
from actions.backend_calls import notifications_client, off_loop

# Lets a bare "STOP" (NLU: cancel) after a notification mean "stop the notifications".
RECEIVED_SLOT = "notification_received"
# Conversations with no channel name (e.g. a replayed test tracker) share this one.
UNKNOWN_CHANNEL = "unknown"


def event_values(tracker: Tracker) -> Dict[str, Any]:
    """The entities the external event carried, by name."""
    return {e.get("entity"): e.get("value") for e in tracker.latest_message.get("entities") or []}


def _date(value: Any) -> Optional[dt.date]:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def appointment_when(date: dt.date, today: dt.date) -> str:
    """"besok, Selasa, 24 November 2026" the day before; just the date otherwise."""
    text = parsing.indonesian_date(date)
    return f"besok, {text}" if date == today + dt.timedelta(days=1) else text


class ActionNotifyAppointmentTomorrow(Action):
    """The day-before reminder of a booked vaccination appointment."""

    def name(self) -> Text:
        return "action_notify_appointment_tomorrow"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        values = event_values(tracker)
        date = _date(values.get("date"))
        if date is None:
            # A malformed event must not produce a half-filled message; the ticket has it all.
            dispatcher.utter_message(response="utter_notification_appointment_generic")
            return [SlotSet(RECEIVED_SLOT, True)]
        dispatcher.utter_message(response="utter_notification_appointment_tomorrow",
                                 when=appointment_when(date, parsing.today_in_indonesia()),
                                 site_name=values.get("site_name", ""), site_address=values.get("site_address", ""),
                                 session=values.get("session", ""), hours=values.get("hours", ""))
        return [SlotSet(RECEIVED_SLOT, True)]


class ActionNotifySecondDoseDue(Action):
    """"Your second dose is due": first dose N days ago, no second dose recorded."""

    def name(self) -> Text:
        return "action_notify_second_dose_due"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        values = event_values(tracker)
        first_dose = _date(values.get("first_dose_date"))
        if first_dose is None:
            dispatcher.utter_message(response="utter_notification_second_dose_generic")
            return [SlotSet(RECEIVED_SLOT, True)]
        dispatcher.utter_message(response="utter_notification_second_dose_due",
                                 first_dose_date=parsing.indonesian_date(first_dose),
                                 brand=values.get("brand") or "COVID-19", days=values.get("days") or "")
        return [SlotSet(RECEIVED_SLOT, True)]


class _PreferenceAction(Action, ABC):
    opted_out: bool
    response: str

    @abstractmethod
    def name(self) -> Text:
        """Abstract so that rasa-sdk does not register this base class."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        channel = tracker.get_latest_input_channel() or UNKNOWN_CHANNEL
        client = notifications_client()
        call = client.opt_out if self.opted_out else client.opt_in
        try:
            await off_loop(call, channel, tracker.sender_id)
        except BackendError:
            dispatcher.utter_message(response="utter_notification_preference_failed")
            return []
        dispatcher.utter_message(response=self.response)
        return []


class ActionNotificationOptOut(_PreferenceAction):
    opted_out, response = True, "utter_notification_opted_out"

    def name(self) -> Text:
        return "action_notification_opt_out"


class ActionNotificationOptIn(_PreferenceAction):
    opted_out, response = False, "utter_notification_opted_in"

    def name(self) -> Text:
        return "action_notification_opt_in"
