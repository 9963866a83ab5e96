"""Personal data (PDP law) in one place, imported by every process: the backends, the action server,
the channels and the Rasa-side tracker store. Stdlib only (plus the stdlib-only `indonesian_text.digits`).

- `masking`: what a user or an operator may see of a NIK, phone number or name;
- `text`: hiding the numbers in free text (stored user messages, log records), with the same
  digit-run rule the assistant reads values with;
- `slots`: which slot values may be stored as they are (everything else is redacted);
- `events`: redacting serialized Rasa events before a tracker is stored;
- `logs`: the log-record redaction every process installs.
"""
from privacy.masking import mask_name, mask_nik, mask_phone  # noqa: F401
from privacy.slots import REDACTED, SEALED_PREFIX, is_sealed  # noqa: F401
from privacy.text import hide_numbers  # noqa: F401
