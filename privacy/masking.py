"""What may be shown of personal values: to the user who proved who they are, in audit entries and logs."""
from __future__ import annotations


def mask_nik(nik: str, visible: int = 4) -> str:
    """`3171234567890001` -> `************0001`: only the last digits stay readable."""
    digits = (nik or "").strip()
    return "*" * max(len(digits) - visible, 0) + digits[-visible:]


def mask_phone(phone: str) -> str:
    """`+6281234567890` -> `+62812*****890`."""
    phone = (phone or "").strip()
    if len(phone) < 10:
        return "*" * len(phone)
    return phone[:6] + "*" * (len(phone) - 9) + phone[-3:]


def mask_name(name: str) -> str:
    """`Siti Rahmawati` -> `S*** R*********` (for audit entries)."""
    return " ".join(word[:1] + "*" * (len(word) - 1) for word in (name or "").split())
