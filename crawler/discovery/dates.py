"""Date parsing for discovery documents, and the freshness rule.

Owns W3C datetime parsing (sitemaps, Atom, ``dc:date``), RFC 822 parsing (RSS
``pubDate``) and `is_fresh`. Every parser returns a timezone-aware UTC datetime or
None; an unparseable date is never an error.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

__all__ = ["is_fresh", "parse_any_date", "parse_rfc822", "parse_w3c_datetime"]

logger = logging.getLogger(__name__)

_MAX_DATE_TEXT = 100

_W3C = re.compile(
    r"""
    (?P<year>\d{4})
    (?:-(?P<month>\d{1,2})
      (?:-(?P<day>\d{1,2})
        (?:[T\s]+(?P<hour>\d{1,2}):(?P<minute>\d{2})
          (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
          \s*(?P<tz>Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?
        )?
      )?
    )?
    """,
    re.VERBOSE | re.ASCII,
)

_WEEKDAY_PREFIX = re.compile(r"^\s*[^\W\d_]{2,12}\.?,\s*", re.UNICODE)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_w3c_datetime(text: str | None) -> datetime | None:
    """Parse a W3C datetime (ISO 8601 profile) into an aware UTC datetime.

    Accepts ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm[:ss[.s]][TZD]``,
    a space instead of ``T`` and offsets without a colon. A missing zone means UTC.
    Anything else (or an impossible date) gives None.
    """
    if not text:
        return None
    text = text.strip()
    if not text or len(text) > _MAX_DATE_TEXT:
        return None
    match = _W3C.fullmatch(text)
    if match is None:
        return None
    g = match.groupdict()
    try:
        tz: timezone = UTC
        raw_tz = g["tz"]
        if raw_tz and raw_tz[0] in "+-":
            sign = -1 if raw_tz[0] == "-" else 1
            digits = raw_tz[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            if hours > 23 or minutes > 59:
                return None
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        fraction = g["fraction"] or ""
        microsecond = int((fraction + "000000")[:6]) if fraction else 0
        value = datetime(
            int(g["year"]),
            int(g["month"] or 1),
            int(g["day"] or 1),
            int(g["hour"] or 0),
            int(g["minute"] or 0),
            int(g["second"] or 0),
            microsecond,
            tzinfo=tz,
        )
        return _utc(value)
    except (ValueError, OverflowError):
        return None


def parse_rfc822(text: str | None) -> datetime | None:
    """Parse an RFC 822/2822 date (RSS ``pubDate``) into an aware UTC datetime.

    Tolerates a missing or non-English weekday, and falls back to W3C datetime
    parsing because many feeds put ISO dates in ``pubDate``. Unparseable → None.
    """
    if not text:
        return None
    text = text.strip()
    if not text or len(text) > _MAX_DATE_TEXT:
        return None
    for candidate in (text, _WEEKDAY_PREFIX.sub("", text, count=1)):
        try:
            return _utc(parsedate_to_datetime(candidate))
        except (ValueError, TypeError, IndexError, OverflowError):
            continue
    return parse_w3c_datetime(text)


def parse_any_date(text: str | None) -> datetime | None:
    """W3C datetime first, then RFC 822; None when neither fits."""
    return parse_w3c_datetime(text) or parse_rfc822(text)


def is_fresh(when: datetime | None, max_age_days: int, now: datetime) -> bool:
    """True when an entry dated ``when`` is at most ``max_age_days`` old at ``now``.

    Undated entries (``when`` is None) are fresh: the crawler fetches them and lets
    the page tell. Naive datetimes are taken as UTC. Future dates are fresh.
    """
    if when is None:
        return True
    return _utc(when) >= _utc(now) - timedelta(days=max_age_days)
