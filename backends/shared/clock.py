"""The services' notion of "today": Indonesian Western Time (WIB), where the programme runs."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")


def today_wib() -> dt.date:
    return dt.datetime.now(WIB).date()


def utcnow() -> dt.datetime:
    """Naive UTC timestamp, as stored in the databases."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
