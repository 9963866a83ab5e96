"""How a request names who asks: the contract between the action server, which names requesters,
and the backends, which throttle per requester and keep only keyed hashes of them.

- `conversation:<channel>:<sender id>`: one conversation.
- `client:<digest>`: the client address the channel computed (channels/rest.py), shared by many people
  behind a carrier's NAT, so backends give it a wider limit than a conversation.
"""
from __future__ import annotations

CONVERSATION_PREFIX = "conversation:"
CLIENT_PREFIX = "client:"


def conversation_requester(channel: str, sender_id: str) -> str:
    return f"{CONVERSATION_PREFIX}{channel}:{sender_id}"


def client_requester(digest: str) -> str:
    return f"{CLIENT_PREFIX}{digest}"


def is_client_requester(requester: str) -> bool:
    return isinstance(requester, str) and requester.startswith(CLIENT_PREFIX)
