"""Log redaction for every process: installed once, it hides personal numbers in every log record.

`install_log_redaction()` wraps the logging module's record factory, so the redaction applies to every
logger and every handler, including handlers Rasa, Sanic or uvicorn add later: a record's message is
redacted whenever a handler formats it (filters still see the original arguments, e.g. the access-log
filter that drops query strings), and the text of an attached exception when the record is made.
Meta's error codes ("error code 131047") stay readable. Records are
also capped in length: a message that long is a dump (a request body, a tracker), never an
operational line. The service's own code must still never log message texts or slots; this is the
safety net under that rule.
"""
from __future__ import annotations

import logging
import traceback
from typing import Any

from privacy.text import hide_numbers

MAX_RECORD_CHARS = 2000
_TRUNCATED = " … [log dipotong]"
_INSTALLED_MARK = "_privacy_redacting_factory"


def redact_log_text(text: str) -> str:
    text = hide_numbers(text, for_logs=True)
    return text if len(text) <= MAX_RECORD_CHARS else text[:MAX_RECORD_CHARS] + _TRUNCATED


def _redacted_message(record: logging.LogRecord) -> str:
    try:
        message = logging.LogRecord.getMessage(record)
    except Exception:  # a broken format string: keep the template only
        message = str(record.msg)
    return redact_log_text(message)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Makes `record` redact itself: its message when formatted, its exception text now."""
    record.getMessage = lambda: _redacted_message(record)  # type: ignore[method-assign]
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = redact_log_text("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
    return record


class RedactingFilter(logging.Filter):
    """The same redaction as a filter, for a handler that must not depend on the record factory."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install_log_redaction() -> None:
    """Idempotent: every record made from now on in this process is redacted."""
    current = logging.getLogRecordFactory()
    if getattr(current, _INSTALLED_MARK, False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(current(*args, **kwargs))

    setattr(redacting_factory, _INSTALLED_MARK, True)
    logging.setLogRecordFactory(redacting_factory)
