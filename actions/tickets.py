"""Showing a vaccination ticket: the QR image, a summary with the masked NIK, the video link."""
from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions.api.registration import Appointment
from actions.parsing import indonesian_date
from actions.settings import vaccine_video_url


def send_ticket(dispatcher: CollectingDispatcher, appointment: Appointment) -> None:
    dispatcher.utter_message(image=appointment.ticket_image_url)
    dispatcher.utter_message(
        response="utter_ticket_summary", name=appointment.name, masked_nik=appointment.masked_nik,
        site_name=appointment.site.name, site_address=appointment.site.address,
        date_text=indonesian_date(appointment.date), session=appointment.session, hours=appointment.hours,
    )
    dispatcher.utter_message(response="utter_vaccine_video", video_url=vaccine_video_url())
