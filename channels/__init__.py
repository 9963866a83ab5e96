"""Rasa input/output channels that Rasa does not ship, loaded by module path from credentials.yml.

whatsapp.py             the WhatsApp Business Cloud API channel (`channels.whatsapp.WhatsAppInput`)
whatsapp_messages.py    WhatsApp message formats: reading webhooks, building what we send (no I/O)
whatsapp_cloud_api.py   the Graph API client: one POST per outgoing message, retries, error logging
message_dedup.py        "have we seen this message id?" (in memory, optionally shared through Redis)

Guide: docs/whatsapp.md.
"""
