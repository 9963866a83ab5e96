"""What a message in the middle of a form means when it is not simply the answer: one table for all forms.

The forms' shared behaviour (actions/forms.py) asks this module about every user message inside any
form, before the question's own validation:
- `cancel_kind`: "batal" / "batalkan pendaftaran" cancels at once; "ga jadi" after some progress is
  confirmed first (it may only mean "not this slot"); the bot says what is lost.
- `switch_target`: a request that clearly starts another flow ("sy mau daftar vaksin nakes aja" at the
  OTP question) is offered as a switch ("Anda ingin berhenti dan beralih ke …?").
- `step_back`: a change of mind about an earlier step ("mau jadwal lain", "ganti lokasi", "tanggal
  lahir saya salah") goes back to that step and keeps everything else. Each form lists its steps
  (`ChangeStep`), the mechanism is written once.
Questions, greetings, "menu", thanks, "petugas" and notifications are interruptions the forms ignore:
one general rule each answers them (data/rules/general.yml, faq.yml, notifications.yml) and Rasa's
RulePolicy then returns to whatever form was active.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, Optional, Sequence, Tuple

# The intents that start a flow of their own (the main menu's buttons and the PeduliLindungi items).
FLOW_START_INTENTS: FrozenSet[str] = frozenset({
    "register_vaccine", "show_ticket", "not_registered", "check_submission_status", "download_certificate",
    "check_vaccination_status", "update_personal_info", "change_name", "change_phone", "change_nik",
    "pedulilindungi_help", "recover_account",
})
# Ignored by every form (the domain lists them under each form's `ignored_intents`; a test keeps
# the lists equal to this one): general rules answer them, or this mechanism does.
IGNORED_BY_FORMS: FrozenSet[str] = FLOW_START_INTENTS | frozenset({
    "faq", "cancel", "help", "greet", "thank", "human_handoff", "bot_challenge", "notification_opt_out",
    "notification_opt_in", "EXTERNAL_appointment_tomorrow", "EXTERNAL_second_dose_due",
})
# The general rules that answer these while a form waits: the form asks its question again afterwards.
RESUMING_INTENTS: FrozenSet[str] = IGNORED_BY_FORMS - FLOW_START_INTENTS - {"cancel"}

SWITCH_CONFIDENCE = 0.8
CANCEL_CONFIDENCE = 0.6

_EXPLICIT_CANCEL = re.compile(r"\b(batal|batalkan|dibatalkan|batalin|cancel|berhenti|stop|keluar|sudahi|udahan)\b")
_SOFT_CANCEL = re.compile(r"\b(?:(?:ga|gak|nggak|ngga|enggak|tidak|tdk|gk|g)\s+(?:jadi|usah|mau)|"
                          r"ndak\s+jadi|nda\s+jadi|urung)\b")
_CHANGE = re.compile(r"\b(ganti|gantinya|diganti|ubah|diubah|ubahin|lain|lainnya|salah|keliru|koreksi|perbaiki|"
                     r"revisi|balik|kembali|pilih\s+lagi|ulang|tukar|pindah|(?:ga|gak|nggak|tidak)\s+jadi)\b")


@dataclass(frozen=True)
class ChangeStep:
    """An earlier step of a form the user may go back to: named by `words`, it clears `clears`."""

    name: str
    words: Tuple[str, ...]
    clears: Tuple[str, ...]
    response: str

    def mentioned_in(self, text: str) -> bool:
        return any(re.search(rf"\b{re.escape(word)}\b", text) for word in self.words)


def normalized(text: Optional[str]) -> str:
    return " ".join((text or "").lower().split()) if isinstance(text, str) else ""


def cancel_kind(text: str, intent: Optional[str], confidence: float) -> Optional[str]:
    """"explicit" (cancel now), "soft" (ask first), or None (not a cancellation)."""
    words = normalized(text)
    if _EXPLICIT_CANCEL.search(words):
        return "explicit"
    if intent == "cancel" and confidence >= CANCEL_CONFIDENCE or _SOFT_CANCEL.search(words):
        return "soft"
    return None


def switch_target(intent: Optional[str], confidence: float, own_intents: Iterable[str]) -> Optional[str]:
    """The other flow the message asks for, if it clearly asks for one."""
    if intent in FLOW_START_INTENTS and intent not in set(own_intents) and confidence >= SWITCH_CONFIDENCE:
        return intent
    return None


def step_back(text: str, steps: Sequence[ChangeStep], filled: Dict[str, object]) -> Optional[ChangeStep]:
    """The earlier step the user wants to change: a change word and a step's name, for a step already
    answered. Steps are listed most specific first ("tanggal lahir" before "tanggal")."""
    words = normalized(text)
    if not _CHANGE.search(words) and not _SOFT_CANCEL.search(words):
        return None
    for step in steps:
        if step.mentioned_in(words) and any(filled.get(slot) is not None for slot in step.clears):
            return step
    return None
