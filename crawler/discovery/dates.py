"""Date parsing for discovery documents, and the freshness rule.

Owns `parse_date`, the one parser every date of a feed or sitemap goes through (W3C
datetimes, RFC 822 dates and their common variants), the time-zone tables it reads zone
names with (`ZONE_OFFSETS`, `AMBIGUOUS_ZONES`), and `is_fresh`. Every parser returns a
timezone-aware UTC datetime or None; an unparseable date is never an error.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

__all__ = [
    "AMBIGUOUS_ZONES",
    "ZONE_OFFSETS",
    "is_fresh",
    "parse_any_date",
    "parse_date",
    "parse_rfc822",
    "parse_w3c_datetime",
]

logger = logging.getLogger(__name__)

_MAX_DATE_TEXT = 100

ZONE_OFFSETS: dict[str, int] = {
    # RFC 822 / 2822
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "EST": -300, "EDT": -240, "CST": -360,
    "CDT": -300, "MST": -420, "MDT": -360, "PST": -480, "PDT": -420,
    # Europe
    "WET": 0, "WEST": 60, "BST": 60, "IST": 330, "CET": 60, "CEST": 120, "MET": 60,
    "MEST": 120, "MEZ": 60, "MESZ": 120, "EET": 120, "EEST": 180, "MSK": 180, "MSD": 240,
    "TRT": 180, "FET": 180,
    # Americas
    "AST": -240, "ADT": -180, "NST": -210, "NDT": -150, "AKST": -540, "AKDT": -480,
    "HST": -600, "BRT": -180, "ART": -180, "CLT": -240, "COT": -300, "PET": -300,
    # Africa, Asia, Oceania
    "WAT": 60, "CAT": 120, "SAST": 120, "EAT": 180, "GST": 240, "IRST": 210, "PKT": 300,
    "NPT": 345, "ICT": 420, "WIB": 420, "HKT": 480, "SGT": 480, "PHT": 480, "AWST": 480,
    "JST": 540, "KST": 540, "ACST": 570, "ACDT": 630, "AEST": 600, "AEDT": 660,
    "NZST": 720, "NZDT": 780, "IDT": 180,
}  # fmt: skip
"""UTC offsets in minutes of the zone names dates are written with. An ambiguous name
maps to its most common meaning here; `AMBIGUOUS_ZONES` lists the others by country."""

AMBIGUOUS_ZONES: dict[str, dict[str, int]] = {
    "IST": {"IE": 60, "IL": 120},  # India 5:30 otherwise
    "BST": {"BD": 360},  # British Summer Time otherwise
    "CST": {"CN": 480, "TW": 480, "HK": 480, "MO": 480, "CU": -300},  # US Central
    "CDT": {"CU": -240},
    "AST": {cc: 180 for cc in ("SA", "IQ", "KW", "BH", "QA", "YE")},  # Atlantic
    "EST": {"AU": 600},  # US Eastern otherwise
    "PST": {"PK": 300, "PH": 480},  # US Pacific otherwise
    "MST": {"MY": 480},  # US Mountain otherwise
}
"""Zone names that mean different offsets in different countries: name → the source's
country (ISO 3166 alpha-2) → offset in minutes. Other countries use `ZONE_OFFSETS`."""

_MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            "jan january janv janvier ene enero jän jänner januar янв",
            "feb february fév févr février febr februar febrero фев",
            "mar march mär märz mrz mars marzo мар",
            "apr april avr avril abr abril апр",
            "may mai mayo мая май",
            "jun june juin juni junio июн",
            "jul july juil juillet juli julio июл",
            "aug august août aout ago agosto авг",
            "sep sept september septembre septiembre set сен",
            "oct october okt oktober octobre octubre окт",
            "nov november novembre noviembre ноя",
            "dec december déc dez dezember décembre dic diciembre дек",
        ),
        start=1,
    )
    for name in names.split()
}
"""Month names and abbreviations (English, German, French, Spanish, Russian), lower-case."""

_W3C = re.compile(
    r"""
    (?P<year>\d{4})
    (?:-(?P<month>\d{1,2})
      (?:-(?P<day>\d{1,2})
        (?:[T\s]+(?P<hour>\d{1,2}):(?P<minute>\d{2})
          (?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?
          \s*(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?|(?P<tzname>[A-Za-z]{2,5})(?P<tzoff>[+-]\d{1,2}(?::?\d{2})?)?)?
        )?
      )?
    )?
    """,
    re.VERBOSE | re.ASCII,
)

_RFC822 = re.compile(
    r"""
    (?:[^\W\d_]{2,12}\.?\s*,?\s*)?                 # weekday, in any language
    (?P<day>\d{1,2})(?:st|nd|rd|th)?\.?[\s-]+
    (?P<month>[^\W\d_]{3,12})\.?[\s,-]+
    (?P<year>\d{4}|\d{2})
    (?:[\s,T]+(?:at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})
       (?:[:.](?P<second>\d{2})(?:[.,]\d+)?)?
       \s*(?P<ampm>[AaPp]\.?[Mm]\.?)?
       (?:\s*(?P<zone>(?:(?:GMT|UTC|UT)\s*)?[+-]\d{1,2}(?::?\d{2})?|[A-Za-z]{1,5}))?
       (?:\s*\([^()]{0,40}\))?                      # a comment: "+0200 (CEST)"
    )?
    """,
    re.VERBOSE | re.IGNORECASE,
)

_OFFSET = re.compile(r"(?:GMT|UTC|UT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
_WEEKDAY_PREFIX = re.compile(r"^\s*[^\W\d_]{2,12}\.?,\s*", re.UNICODE)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _offset(text: str) -> int | None:
    """Minutes east of UTC for ``+0200``, ``+02:00``, ``+2``, ``GMT-01:01``; None if not one."""
    match = _OFFSET.fullmatch(text.strip())
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    value = int(hours) * 60 + int(minutes or 0)
    if int(hours) > 23 or int(minutes or 0) > 59:
        return None
    return -value if sign == "-" else value


def _zone(text: str | None, country: str | None) -> int | None:
    """Offset in minutes of a zone written as an offset or a name; None when unknown.

    A missing zone is UTC (0). An ambiguous name is read as the source's country uses it.
    """
    if not text:
        return 0
    if text[0] in "+-" or text[:2].upper() in ("GM", "UT"):
        offset = _offset(text)
        if offset is not None:
            return offset
    name = text.upper()
    if country:
        by_country = AMBIGUOUS_ZONES.get(name)
        if by_country is not None and country.upper() in by_country:
            return by_country[country.upper()]
    return ZONE_OFFSETS.get(name)


def _build(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    microsecond: int,
    offset_minutes: int,
) -> datetime | None:
    try:
        tz = timezone(timedelta(minutes=offset_minutes))
        return _utc(datetime(year, month, day, hour, minute, min(second, 59), microsecond, tz))
    except (ValueError, OverflowError):
        return None


def parse_w3c_datetime(text: str | None, *, country: str | None = None) -> datetime | None:
    """Parse a W3C datetime (ISO 8601 profile) into an aware UTC datetime.

    Accepts ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``, ``YYYY-MM-DDThh:mm[:ss[.s]][TZD]``,
    a space instead of ``T``, offsets without a colon and, as a variant, a zone name
    (``2025-06-10 10:00:00 CEST``). A missing zone means UTC. Anything else (or an
    impossible date) gives None.
    """
    if not text:
        return None
    text = text.strip()
    if not text or len(text) > _MAX_DATE_TEXT:
        return None
    if len(text) >= 10 and text[4] == "-" and text[7] == "-":
        try:
            return _utc(datetime.fromisoformat(text))  # the common shapes, in C
        except ValueError:
            pass
    match = _W3C.fullmatch(text)
    if match is None:
        return None
    g = match.groupdict()
    if g["tzname"]:
        offset = _zone(g["tzname"], country)
        if offset is None:
            return None
        if g["tzoff"]:
            extra = _offset(g["tzoff"])
            if extra is None:
                return None
            offset += extra
    else:
        offset = _zone(g["tz"], country)
    if offset is None:
        return None
    fraction = g["fraction"] or ""
    return _build(
        int(g["year"]),
        int(g["month"] or 1),
        int(g["day"] or 1),
        int(g["hour"] or 0),
        int(g["minute"] or 0),
        int(g["second"] or 0),
        int((fraction + "000000")[:6]) if fraction else 0,
        offset,
    )


def _parse_rfc822_variants(text: str, country: str | None) -> datetime | None:
    match = _RFC822.fullmatch(text)
    if match is None:
        return None
    g = match.groupdict()
    month = _MONTHS.get(g["month"].lower())
    if month is None:
        return None
    year = int(g["year"])
    if len(g["year"]) == 2:
        year += 2000 if year < 70 else 1900
    hour = int(g["hour"] or 0)
    if g["ampm"]:
        if hour > 12:
            return None
        hour = hour % 12 + (12 if g["ampm"][0] in "pP" else 0)
    offset = _zone(g["zone"], country)
    if offset is None:
        offset = 0  # an unknown zone name: the time as written, read as UTC
        logger.debug("unknown time zone %r in date %r, read as UTC", g["zone"], text)
    return _build(
        year,
        month,
        int(g["day"]),
        hour,
        int(g["minute"] or 0),
        int(g["second"] or 0),
        0,
        offset,
    )


def parse_date(text: str | None, *, country: str | None = None) -> datetime | None:
    """Parse any date a feed or sitemap writes into an aware UTC datetime; None if none.

    Accepts W3C datetimes (see `parse_w3c_datetime`) and RFC 822 dates with their common
    variants: with or without a weekday (in any language), seconds or time (a date alone
    is midnight UTC), two-digit years, English, German, French, Spanish or Russian month
    names, ``AM``/``PM``, offsets with a colon (``+02:00``) or after ``GMT``/``UTC``
    (``GMT-01:01``) and zone names from `ZONE_OFFSETS`. A zone name with several meanings
    (``IST``: India, Ireland, Israel) is read as ``country`` (the source's ISO 3166 code)
    uses it. An unknown zone name is read as UTC.
    """
    if not text:
        return None
    text = text.strip()
    if not text or len(text) > _MAX_DATE_TEXT:
        return None
    if text[:4].isdigit():
        found = parse_w3c_datetime(text, country=country)
        if found is not None:
            return found
    found = _parse_rfc822_variants(text, country)
    if found is not None:
        return found
    for candidate in (text, _WEEKDAY_PREFIX.sub("", text, count=1)):
        try:  # what the standard library reads beyond the variants above (asctime, ...)
            return _utc(parsedate_to_datetime(candidate))
        except (ValueError, TypeError, IndexError, OverflowError):
            continue
    return None


def parse_rfc822(text: str | None, *, country: str | None = None) -> datetime | None:
    """Parse an RFC 822/2822 date (RSS ``pubDate``); the same as `parse_date`."""
    return parse_date(text, country=country)


def parse_any_date(text: str | None, *, country: str | None = None) -> datetime | None:
    """W3C datetime or RFC 822 date; the same as `parse_date`."""
    return parse_date(text, country=country)


def is_fresh(when: datetime | None, max_age_days: int, now: datetime) -> bool:
    """True when an entry dated ``when`` is at most ``max_age_days`` old at ``now``.

    Undated entries (``when`` is None) are fresh: the crawler fetches them and lets
    the page tell. Naive datetimes are taken as UTC. Future dates are fresh.
    """
    if when is None:
        return True
    return _utc(when) >= _utc(now) - timedelta(days=max_age_days)
