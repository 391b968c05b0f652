"""Publication dates from the many ways inputs write them, always returned in UTC."""
from __future__ import annotations

import calendar
import math
import re
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from sentiment.schema import to_utc

# Epoch values above this are taken to be milliseconds (1e11 s is the year 5138).
_MS_THRESHOLD = 1e11


def parse_date(value: Any) -> datetime | None:
    """A UTC datetime from a datetime, a ``time.struct_time`` (UTC, as feedparser gives),
    epoch seconds or milliseconds, ISO 8601 or RFC 2822 text, or anything dateutil reads.
    Naive values are taken to be UTC. Returns ``None`` when ``value`` is not a date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, time.struct_time):
        return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    text = str(value).strip()
    if not text:
        return None
    if re.fullmatch(r"\d{9,}(\.\d+)?", text):  # epoch seconds/ms; "2025" alone is no epoch
        return _from_epoch(float(text))
    try:
        return to_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        pass
    try:
        return to_utc(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        from dateutil import parser as dateutil_parser
    except ImportError:  # pragma: no cover - dateutil comes with pandas
        return None
    try:
        return to_utc(dateutil_parser.parse(text))
    except (ValueError, OverflowError, TypeError):
        return None


_NAME_DATE = re.compile(r"(?<!\d)((?:19|20)\d\d)-([01]\d)-([0-3]\d)(?!\d)")


def date_in_name(name: str) -> datetime | None:
    """The ``YYYY-MM-DD`` date a file name carries (``2025-03-10-btc-slide.txt``,
    ``aicoin-2025-11-04-crash.txt``), as midnight UTC; ``None`` when there is none. Saved
    articles are often named this way; the date is a day, not an hour."""
    match = _NAME_DATE.search(name)
    if match is None:
        return None
    year, month, day = (int(x) for x in match.groups())
    try:
        return datetime(year, month, day, tzinfo=timezone.utc)
    except ValueError:  # 2025-02-30
        return None


def _from_epoch(seconds: float) -> datetime | None:
    if math.isnan(seconds) or seconds < 0:  # NaN or before 1970: not a publication date
        return None
    if seconds > _MS_THRESHOLD:
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None
