"""Who is asking: the identities a request is counted against, and what the channel verified.

- The conversation (channel + sender id) and, where the channel provides one, the client identity
  the channel computed (`metadata.requester`: a digest of the web client's address, set by
  channels/rest.py, never taken from the client). Backends throttle per identity and store only
  keyed hashes of them.
- On WhatsApp the sender id is the user's number as verified by WhatsApp (and by Meta's signature on
  the webhook), so it can serve as a second factor; no other channel's sender id can.
"""
from __future__ import annotations

import re
from typing import List, Optional

from rasa_sdk import Tracker

from privacy.requesters import client_requester, conversation_requester

VERIFIED_NUMBER_CHANNELS = frozenset({"whatsapp"})
_WA_ID = re.compile(r"^[1-9]\d{7,14}$")


def input_channel(tracker: Tracker) -> str:
    channel = tracker.latest_message.get("input_channel") or tracker.get_latest_input_channel()
    return channel if isinstance(channel, str) and channel else "unknown"


def requesters(tracker: Tracker) -> List[str]:
    keys = [conversation_requester(input_channel(tracker), str(tracker.sender_id))]
    metadata = tracker.latest_message.get("metadata")
    client = metadata.get("requester") if isinstance(metadata, dict) else None
    if isinstance(client, str) and 0 < len(client) <= 128:
        keys.append(client_requester(client))
    return keys


def verified_phone(tracker: Tracker) -> Optional[str]:
    """The sender's own number in E.164 when the channel verified it (WhatsApp), else None."""
    sender = str(tracker.sender_id or "")
    if input_channel(tracker) in VERIFIED_NUMBER_CHANNELS and _WA_ID.match(sender):
        return "+" + sender
    return None
