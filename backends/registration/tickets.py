"""The QR image of a vaccination ticket; the QR carries the signed ticket code."""
from __future__ import annotations

import io

import qrcode


def ticket_qr_png(ticket_code: str) -> bytes:
    image = qrcode.make(ticket_code, box_size=8, border=3)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
