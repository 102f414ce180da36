"""Publication dates: parsing printed and machine dates with their precision, and choosing one.

Sources: JSON-LD, ``<meta>`` tags, ``<time datetime>``, visible date headers (month
names and labels per language come from ``patterns/<lang>.yaml``) and the URL.

Timezones: an aware value is converted to UTC. A naive value (no offset and no known
zone abbreviation after the printed time) is **assumed to be UTC**. A value without
a time is midnight UTC of that day; a month-only value is the first of the month,
00:00 UTC, with precision ``month`` saying that only the month is known.

Choice (:func:`choose_published`): sources in priority order, the first one anchoring;
a date printed for readers overrides a contradicting machine-only anchor when other
sources back it (metadata is often a CMS creation or stale date; readers see the
printed one). Numeric ``a/b/yyyy`` dates are month-first only on US-English pages.

Longer than ~400 lines on purpose: the parsers of each date format (machine, printed in
36 languages, in the URL) and the choice between them share the precision and timezone
rules above; `published` weighs the page's signals on top of it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import cache

from crawler.extraction.patterns import available_languages, load_data
from crawler.extraction.record import Precision

logger = logging.getLogger(__name__)

PRECISION_RANK: dict[str, int] = {"year": 0, "month": 1, "day": 2, "minute": 3}
MIN_YEAR = 1990
MAX_YEAR = 2100


@dataclass(frozen=True, slots=True)
class ParsedDate:
    """A date as found: UTC value, how precise the source was, and the string as printed."""

    value: datetime
    precision: Precision
    raw: str
    naive: bool = False
    """The time was printed without an offset or zone and is only assumed to be UTC."""
    offset: int | None = None
    """Minutes east of UTC the source stated with the time (``+01:00`` is 60, ``Z`` 0);
    None for date-only values and times printed without a zone."""

    def agrees(self, other: ParsedDate) -> bool:
        """True when both denote the same instant at the coarser of the two precisions."""
        level = min(PRECISION_RANK[self.precision], PRECISION_RANK[other.precision])
        a, b = self.value, other.value
        if level == PRECISION_RANK["minute"]:
            return abs(a - b) <= timedelta(minutes=1)
        if level == PRECISION_RANK["day"]:
            # A printed local day may differ from the UTC day by the offset.
            return abs(a - b) < timedelta(hours=36) or a.date() == b.date()
        if level == PRECISION_RANK["month"]:
            return (a.year, a.month) == (b.year, b.month)
        return a.year == b.year


@cache
def _month_tables() -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Month names of every language (those no two languages read differently), and
    each language's own table (``listopad`` is November in Polish, October in Croatian)."""
    own: dict[str, dict[str, int]] = {}
    seen: dict[str, set[int]] = {}
    for lang in available_languages():
        months = load_data(lang).get("date", {}).get("months") or {}
        own[lang] = {str(name).lower(): int(num) for name, num in months.items()}
        for name, num in own[lang].items():
            seen.setdefault(name, set()).add(num)
    shared = {name: nums.pop() for name, nums in seen.items() if len(nums) == 1}
    return shared, own


def _months() -> dict[str, int]:
    return _month_tables()[0]


def _all_month_names() -> list[str]:
    return [name for table in _month_tables()[1].values() for name in table]


def _month_number(name: str, lang: str | None) -> int | None:
    """The month ``name`` stands for on a page in ``lang`` (None when it is ambiguous)."""
    shared, own = _month_tables()
    key = name.lower().rstrip(".")
    code = (lang or "").replace("_", "-").split("-")[0].lower()
    if code in own and key in own[code]:
        return own[code][key]
    return shared.get(key)


@cache
def _eras() -> dict[str, int]:
    """Languages whose pages print years of another era (``era_years``: Thai 543)."""
    eras = {}
    for lang in available_languages():
        years = load_data(lang).get("date", {}).get("era_years")
        if years:
            eras[lang] = int(years)
    return eras


def _era_years(lang: str | None, month_name: str | None) -> int:
    """How far a year printed on a page in ``lang`` (or beside ``month_name``) runs ahead
    of the Gregorian year: 543 for the Buddhist era of Thai pages, else 0."""
    eras = _eras()
    code = (lang or "").replace("_", "-").split("-")[0].lower()
    if code in eras:
        return eras[code]
    if month_name:
        key = month_name.lower().rstrip(".")
        own = _month_tables()[1]
        return next((eras[c] for c in eras if key in own.get(c, {})), 0)
    return 0


@cache
def _half_days(key: str) -> tuple[str, ...]:
    """Words for morning (``am_words``) or afternoon (``pm_words``) printed before a time."""
    return tuple(str(w) for w in load_data("common").get(key) or ())


@cache
def _era_names() -> dict[str, int]:
    """Era names of every language (``date.eras``) -> the Gregorian year before the era's
    first: 令和 (2019-) is 2018."""
    eras: dict[str, int] = {}
    for lang in available_languages():
        for name, base in (load_data(lang).get("date", {}).get("eras") or {}).items():
            eras[str(name)] = int(base)
    return eras


@cache
def _time_words() -> tuple[str, ...]:
    """Words between a printed date and its time, of every language (``um``, ``ore``)."""
    words: set[str] = set()
    for lang in available_languages():
        words.update(str(w) for w in load_data(lang).get("date", {}).get("time_words") or ())
    return tuple(words)


@cache
def _labels(kind: str = "labels") -> tuple[str, ...]:
    labels: set[str] = set()
    for lang in available_languages():
        labels.update(str(x) for x in load_data(lang).get("date", {}).get(kind) or ())
    return tuple(sorted(labels, key=len, reverse=True))


@cache
def _timezones() -> dict[str, int]:
    return {str(k).lower(): int(v) for k, v in (load_data("common").get("timezones") or {}).items()}


def _alt(words: tuple[str, ...] | list[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_TIME = (
    r"(?:\s*,?\s*(?:{words}|,|-|–|—|\||/|·|•|∙)?\s*"
    r"(?:(?P<half>{halves})\s?)?"
    r"(?P<hour>\d{{1,2}})\s?[:.h時시]\s?(?P<minute>\d{{2}})(?::\d{{2}})?(?:分|분)?"
    r"(?:\s*(?P<ampm>[ap]\.?\s?m\.?))?"
    r"(?:\s*(?:uhr|h|ч\.?))?"
    r"(?:\s*\(?(?:(?P<tz>{tz})(?:\s?(?P<tzoff>[+\-−]\s?\d{{1,2}}(?::?\d{{2}})?))?"
    r"|(?P<numoff>[+\-−]\d{{2}}:?\d{{2}}))\)?(?![\w]))?)?"
)
_BUILTIN_TIME_WORDS = ("um", "à", "a las", "a la", "at", "в")


@cache
def _text_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """(regex, precision) pairs, most precise forms first."""
    months = _alt(sorted(set(_all_month_names())))
    tz = _alt(list(_timezones()))
    halves = _alt([*_half_days("am_words"), *_half_days("pm_words")])
    time = _TIME.format(tz=tz, words=_alt([*_BUILTIN_TIME_WORDS, *_time_words()]), halves=halves)
    eras = _alt(list(_era_names()))
    mon = rf"(?P<month>{months})\.?"
    forms = [
        (rf"(?P<year>\d{{4}})-(?P<mon>\d{{1,2}})-(?P<day>\d{{1,2}})(?:T|\s+)?{time}", "day"),
        # 2025年2月14日 / 2025년 2월 14일 (Chinese, Japanese, Korean)
        (
            rf"(?P<year>\d{{4}})\s?[年년]\s?(?P<mon>\d{{1,2}})\s?[月월]\s?(?P<day>\d{{1,2}})\s?[日일]"
            rf"(?:\s?\([^)]{{1,3}}\))?{time}",
            "day",
        ),
        # 令和7年3月15日 (Japanese era years)
        (
            rf"(?P<era>{eras})\s?(?P<eyear>\d{{1,2}}|元)\s?年\s?(?P<mon>\d{{1,2}})\s?月"
            rf"\s?(?P<day>\d{{1,2}})\s?日(?:\s?\([^)]{{1,3}}\))?{time}",
            "day",
        ),
        (rf"(?P<day>\d{{1,2}})\.\s?(?P<mon>\d{{1,2}})\.\s?(?P<year>\d{{4}}){time}", "day"),
        # 2025.02.14 / 2025. 02. 14. (Korean, Hungarian, Chinese)
        (rf"(?P<year>\d{{4}})\.\s?(?P<mon>\d{{1,2}})\.\s?(?P<day>\d{{1,2}})\.?{time}", "day"),
        # 2025. február 14. (Hungarian), 2025 m. vasario 14 d. (Lithuanian)
        (
            rf"(?P<year>\d{{4}})\.?\s(?:m\.\s)?{mon}\s(?P<day>\d{{1,2}})\.?(?:\sd\.)?{time}",
            "day",
        ),
        (rf"(?P<day>\d{{1,2}})\.?\s+de\s+{mon}\s+(?:de\s+|del\s+)?(?P<year>\d{{4}}){time}", "day"),
        (
            rf"(?P<day>\d{{1,2}})(?:\.|er|st|nd|rd|th)?\s+{mon},?\s+(?P<year>\d{{4}})"
            rf"(?:\s*(?:года|г\.)|\.(?=\s))?{time}",
            "day",
        ),
        (rf"{mon}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}}){time}", "day"),
        (rf"(?P<year>\d{{4}})/(?P<mon>\d{{1,2}})/(?P<day>\d{{1,2}}){time}", "day"),
        (rf"(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})/(?P<year>\d{{4}}){time}", "day"),
        (rf"{mon}\s+(?P<year>\d{{4}})", "month"),
        (r"(?P<year>\d{4})-(?P<mon>\d{1,2})(?![\d-])", "month"),
        (r"(?P<mon>\d{1,2})/(?P<year>\d{4})(?![\d/])", "month"),
    ]
    return tuple(
        (re.compile(rf"(?<![\w.]){pattern}(?![\w])", re.IGNORECASE), precision)
        for pattern, precision in forms
    )


def month_first(lang: str | None) -> bool:
    """True when ``a/b/yyyy`` is month/day: English, unless a non-US locale (``en-GB``)."""
    code = (lang or "").replace("_", "-").lower()
    return code in ("en", "en-us")


def _build(match: re.Match[str], precision: str, lang: str | None) -> ParsedDate | None:
    groups = match.groupdict()
    try:
        if groups.get("era"):
            eyear = groups["eyear"]
            groups = {
                **groups,
                "year": str(_era_names()[groups["era"]] + (1 if eyear == "元" else int(eyear))),
            }
        year = int(groups["year"])
        if groups.get("month"):
            number = _month_number(groups["month"], lang)
            if number is None:
                return None
            month = number
        elif groups.get("mon"):
            month = int(groups["mon"])
        else:
            first, second = int(groups["a"]), int(groups["b"])
            # dd/mm except in English pages (mm/dd) unless impossible.
            if (month_first(lang) and first <= 12) or second > 12:
                month, day_a = first, second
            else:
                month, day_a = second, first
            groups = {**groups, "day": str(day_a)}
        day = int(groups["day"]) if groups.get("day") else 1
        if year > MAX_YEAR:
            year -= _era_years(lang, groups.get("month"))
        if not MIN_YEAR <= year <= MAX_YEAR:
            return None
        hour = groups.get("hour")
        minute = groups.get("minute")
        prec: Precision = "month" if precision == "month" else "day"
        h = m = 0
        if hour is not None and minute is not None:
            h, m = int(hour), int(minute)
            ampm = (groups.get("ampm") or "").lower().replace(".", "").replace(" ", "")
            half = groups.get("half")
            if half:
                ampm = "pm" if half in _half_days("pm_words") else "am"
            if ampm == "pm" and h < 12:
                h += 12
            elif ampm == "am" and h == 12:
                h = 0
            if h > 23 or m > 59:
                h = m = 0
            else:
                prec = "minute"
        stated = _stated_offset(groups) if prec == "minute" else None
        zone = timezone(timedelta(minutes=stated or 0))
        value = datetime(year, month, day, h, m, tzinfo=zone)
    except (ValueError, KeyError, OverflowError):
        return None
    raw = match.group(0).strip(" ,|-–")
    naive = prec == "minute" and stated is None
    return ParsedDate(value.astimezone(UTC), prec, raw, naive=naive, offset=stated)


_OFFSET = re.compile(r"(?P<sign>[+\-−])\s?(?P<hours>\d{1,2})(?::?(?P<minutes>\d{2}))?")


def _stated_offset(groups: dict[str, str | None]) -> int | None:
    """Minutes east of UTC that a printed time's zone states (``KST``, ``GMT+7``,
    ``UTC+03:00``, ``+0300``); None when no zone is printed or it is not a valid offset.

    The offset is kept (``ParsedDate.offset``) so the record keeps the outlet's own
    calendar day: ``13.02. 07:30 KST`` is the 12th in UTC and the 13th where it was
    printed."""
    name = (groups.get("tz") or "").lower()
    extra = groups.get("tzoff") or groups.get("numoff")
    minutes = _timezones().get(name, 0) * 60 if name else 0
    if extra:
        if name and name not in _OFFSET_BASES:
            return None  # "MEZ+1" is no zone
        found = _OFFSET.fullmatch(extra.strip())
        if found is None:
            return None
        sign = -1 if found["sign"] in "-−" else 1
        minutes = sign * (int(found["hours"]) * 60 + int(found["minutes"] or 0))
        if abs(minutes) > MAX_UTC_OFFSET.total_seconds() // 60 or minutes % 15:
            return None
    elif not name:
        return None
    return minutes


_OFFSET_BASES = ("gmt", "utc")
"""Zone names a printed offset may follow (``GMT+7``, ``UTC-03:00``)."""


def parse_text_date(text: str, lang: str | None = None) -> ParsedDate | None:
    """Find the first printed date in ``text`` (most precise form wins at a position)."""
    best: tuple[int, ParsedDate] | None = None
    for pattern, precision in _text_patterns():
        for match in pattern.finditer(text):
            parsed = _build(match, precision, lang)
            if parsed is None:
                continue
            if best is None or match.start() < best[0]:
                best = (match.start(), parsed)
            break
    return best[1] if best else None


_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
_WINDOW = 40
"""Characters around a year that a printed date with its time can span."""


def first_printed_day(
    text: str, lang: str | None = None, latest: datetime | None = None
) -> ParsedDate | None:
    """The first date printed in a long ``text`` when it gives the day, else None.

    Dates after ``latest`` (an expiry, an event to come) are passed over.

    :func:`parse_text_date` for long texts: every date form has a four-digit year, so
    only the text around each year is matched (a long page costs one cheap scan, not
    one scan per date form).
    """
    done = 0
    for year in _YEAR.finditer(text):
        if year.start() < done:
            continue
        start = year.start() - _WINDOW
        if start <= done:
            start = done
        else:  # begin at a word, as the date forms expect
            space = text.find(" ", start, year.start())
            start = space + 1 if space >= 0 else start
        found = parse_text_date(text[start : year.end() + _WINDOW], lang)
        if found is not None and (latest is None or found.value <= latest):
            return found if found.precision in ("day", "minute") else None
        done = year.end()
    return None


def _match_at_start(text: str, lang: str | None) -> tuple[ParsedDate, int] | None:
    """A date that starts ``text``; returns it and the end offset of the match."""
    for pattern, precision in _text_patterns():
        match = pattern.match(text)
        if match:
            parsed = _build(match, precision, lang)
            if parsed is not None:
                return parsed, match.end()
    return None


_ISO_PARTIAL = re.compile(r"^(?P<year>\d{4})(?:-(?P<mon>\d{2}))?$")


def parse_machine_date(value: str) -> ParsedDate | None:
    """Parse a metadata value (ISO 8601, RFC 2822, else a printed form); None if not a date."""
    raw = value.strip()
    if not raw or len(raw) > 80:
        return None
    partial = _ISO_PARTIAL.match(raw)
    if partial:
        year = int(partial.group("year"))
        if not MIN_YEAR <= year <= MAX_YEAR:
            return None
        if partial.group("mon"):
            try:
                return ParsedDate(
                    datetime(year, int(partial.group("mon")), 1, tzinfo=UTC), "month", raw
                )
            except ValueError:
                return None
        return ParsedDate(datetime(year, 1, 1, tzinfo=UTC), "year", raw)
    iso = raw.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", raw) else raw
    if iso.endswith(("z", "Z")):
        iso = iso[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            parsed = None
        if parsed is None:
            return parse_text_date(raw)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        return None
    has_time = bool(re.search(r"\d[T ]\d{1,2}:\d{2}|\d{2}:\d{2}", raw))
    naive = parsed.tzinfo is None
    if naive:
        parsed = parsed.replace(tzinfo=UTC)
    precision: Precision = "minute" if has_time else "day"
    offset = None
    if has_time and not naive:
        delta = parsed.utcoffset()
        offset = int(delta.total_seconds() // 60) if delta is not None else None
    return ParsedDate(
        parsed.astimezone(UTC), precision, raw, naive=naive and has_time, offset=offset
    )


_WEEKDAY_PREFIX = re.compile(r"^[^\W\d]{2,12}\.?,\s+")


_DATE_THEN_SEPARATOR = re.compile(r"^\s*[-–—|·•/]\s*")


def text_after_leading_date(line: str, lang: str | None = None) -> str | None:
    """What a line prints after the date it opens with and a separator
    (``11.12.2019 - Jane Doe`` gives ``Jane Doe``); None when it opens with no date or
    no separator follows it."""
    bare = _WEEKDAY_PREFIX.sub("", line.strip())
    found = _match_at_start(bare, lang)
    if found is None:
        return None
    separator = _DATE_THEN_SEPARATOR.match(bare[found[1] :])
    if separator is None:
        return None
    return bare[found[1] + separator.end() :].strip() or None


def match_date_header(paragraph: str, lang: str | None = None) -> tuple[ParsedDate, str] | None:
    """Recognise a visible date header at the start of ``paragraph``.

    Either a label from the pattern files followed by a date (``date 2025-02``,
    ``Datum: 13. Februar 2025``; the rest of the paragraph is returned, e.g. a lead
    the header was run into), or a paragraph that is a date and nothing else
    (optionally after a weekday). Returns the date and the remaining text.
    """
    text = paragraph.strip()
    labels = _labels()
    label_re = _label_regex(labels)
    labelled = label_re.match(text)
    if labelled:
        rest = text[labelled.end() :]
        found = _match_at_start(rest, lang)
        if found:
            parsed, end = found
            return parsed, rest[end:].strip(" ,|·•–—-").strip()
        return None
    bare = _WEEKDAY_PREFIX.sub("", text)
    found = _match_at_start(bare, lang)
    if found and _date_only_rest().match(bare[found[1] :]):
        return found[0], ""
    return None


SOURCE_CHARS = 40
"""Longest source name a date line may end with (``2023-03-14 09:12 来源：Example``)."""


@cache
def _date_only_rest() -> re.Pattern[str]:
    """What may follow a date in a line that is a date header: separators, or a source
    label and the source's name (``来源：新华网``, ``Quelle: dpa``; ``source_labels``)."""
    labels = _labels("source_labels")
    source = rf"(?:(?:{_alt(labels)})\s*[:：]\s*[^\n]{{1,{SOURCE_CHARS}}})?" if labels else ""
    return re.compile(rf"^[\s,.|·•–—-]*{source}\s*$", re.IGNORECASE)


@cache
def _label_regex(labels: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"^(?:{_alt(list(labels))})\s*:?\s+", re.IGNORECASE)


def is_modified_label(text: str) -> bool:
    """True when ``text`` starts with an 'updated'-style label from the pattern files."""
    return bool(_label_regex(_labels("modified_labels")).match(text.strip() + " "))


_URL_DAYS = (
    re.compile(r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])[/-]?(0[1-9]|[12]\d|3[01])(?:/|[-_]|$)"),
    # /2025/3/5/ (no leading zeros: between slashes only)
    re.compile(r"/((?:19|20)\d{2})/([1-9]|1[0-2])/([1-9]|[12]\d|3[01])/"),
    # a slug ending in its day: /a-slug-2025-03-05.html, /2025_03_05_slug
    re.compile(r"[/_-]((?:19|20)\d{2})([_-])(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])(?:[/_.-]|$)"),
)
"""Days in a URL path, the usual form first."""
_URL_MONTH = re.compile(r"/((?:19|20)\d{2})/(0[1-9]|1[0-2])/")


def date_from_url(url: str) -> ParsedDate | None:
    """A date in the URL path (``/2025/02/13/``, ``/2025/2/13/`` and ``/slug-2025-02-13.html``
    are days, ``/2025/02/`` a month)."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    for pattern in _URL_DAYS:
        match = pattern.search(path)
        if match:
            year, month, day = (int(g) for g in match.groups() if g not in ("-", "_"))
            try:
                value = datetime(year, month, day, tzinfo=UTC)
            except ValueError:
                return None
            return ParsedDate(value, "day", match.group(0).strip("/-_."))
    match = _URL_MONTH.search(path)
    if match:
        value = datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC)
        return ParsedDate(value, "month", match.group(0).strip("/"))
    return None


def choose(candidates: list[ParsedDate]) -> ParsedDate | None:
    """Pick the publication date among ``candidates`` (given in source priority order).

    The first candidate anchors the choice; among the candidates that agree with it,
    the most precise one wins (earlier ones on ties), so a month-only header and a
    full metadata timestamp in that month give the timestamp.
    """
    if not candidates:
        return None
    anchor = candidates[0]
    best = anchor
    for cand in candidates[1:]:
        if PRECISION_RANK[cand.precision] > PRECISION_RANK[best.precision] and cand.agrees(anchor):
            best = cand
    return best


@dataclass(frozen=True, slots=True)
class Candidate:
    """A publication date found on the page, with the kind of source it came from."""

    date: ParsedDate
    source: str
    """``selector``, ``jsonld``, ``meta``, ``itemprop``, ``header``, ``title``,
    ``element``, ``time``, ``url``, ``htmldate`` or ``hint``."""
    printed: bool = False
    """Shown to readers (a date header or date element), not only machine metadata."""


MAX_UTC_OFFSET = timedelta(hours=14)
"""The largest offset of a local time from UTC (a printed wall clock may be that far off)."""


def consistent(a: ParsedDate, b: ParsedDate) -> bool:
    """True when ``a`` and ``b`` can be the same publication as printed locally.

    Stricter than :meth:`ParsedDate.agrees` about days and aware of printed wall
    clocks: two times agree when they are the same instant, or when one of them is
    naive (printed without a zone) and they differ by a whole UTC offset (quarter
    hours, at most 14 h); two days must be the same date; a day and a time agree when
    the time falls on that day in some zone (naive times: on that date as printed).
    """
    level = min(PRECISION_RANK[a.precision], PRECISION_RANK[b.precision])
    if level == PRECISION_RANK["minute"]:
        gap = abs(a.value - b.value)
        if gap <= timedelta(minutes=1):
            return True
        if not (a.naive or b.naive) or gap > MAX_UTC_OFFSET:
            return False
        rest = gap.total_seconds() % 900
        return rest <= 60 or rest >= 840
    if level == PRECISION_RANK["day"]:
        if a.precision == b.precision:
            return a.value.date() == b.value.date()
        day, moment = (a, b) if a.precision == "day" else (b, a)
        if moment.naive:
            return moment.value.date() == day.value.date()
        return day.value - MAX_UTC_OFFSET <= moment.value < day.value + timedelta(hours=36)
    if level == PRECISION_RANK["month"]:
        return (a.value.year, a.value.month) == (b.value.year, b.value.month)
    return a.value.year == b.value.year


def _backing(candidates: list[Candidate], date: ParsedDate) -> set[str]:
    """Kinds of source consistent with ``date``: each machine kind once, print once."""
    return {"printed" if c.printed else c.source for c in candidates if consistent(c.date, date)}


def as_instant(chosen: ParsedDate, others: list[ParsedDate]) -> ParsedDate:
    """The instant a page means, with the outlet's offset, from a printed wall clock and
    a zone-aware time of the same publication.

    ``07:30 Uhr`` printed over ``datetime="…T06:30Z"`` is 06:30 UTC, and the gap between
    the two is the outlet's own offset (+60 min): a naive wall clock yields to the aware
    instant, and an aware instant stated in UTC takes the printed wall clock's offset.
    Values no such pair explains are returned unchanged.
    """
    if chosen.precision != "minute":
        return chosen
    stated = _offset_stated_elsewhere(chosen, others)
    if stated is not None:
        return ParsedDate(chosen.value, "minute", chosen.raw, offset=stated)
    limit = MAX_UTC_OFFSET.total_seconds() // 60
    for other in others:
        if other.precision != "minute" or other.naive == chosen.naive:
            continue
        if not consistent(chosen, other):
            continue
        wall, aware = (chosen, other) if chosen.naive else (other, chosen)
        # A printed wall clock states minutes, not seconds: compare whole minutes.
        minute = aware.value.replace(second=0, microsecond=0)
        gap = round((wall.value - minute).total_seconds() / 60)
        if gap % 15 or abs(gap) > limit:
            continue
        if aware.offset not in (None, 0, gap):
            return chosen if not chosen.naive else aware  # the page stated its offset
        return ParsedDate(aware.value, "minute", chosen.raw, offset=gap)
    return _on_printed_day(chosen, others)


def _offset_stated_elsewhere(chosen: ParsedDate, others: list[ParsedDate]) -> int | None:
    """The offset another source states for the very instant ``chosen`` gives in UTC.

    JSON-LD often says ``…T04:11:44+00:00`` where the article's ``<time>`` says
    ``…T22:11:44-06:00``: one instant, and the second keeps the outlet's own offset
    (and calendar day). None when ``chosen`` states an offset of its own or no aware
    source states another for the same minute.
    """
    if chosen.naive or chosen.offset not in (None, 0):
        return None
    minute = chosen.value.replace(second=0, microsecond=0)
    for other in others:
        if (
            not other.naive
            and other.precision == "minute"
            and other.offset not in (None, 0)
            and other.value.replace(second=0, microsecond=0) == minute
        ):
            return other.offset
    return None


def _on_printed_day(chosen: ParsedDate, others: list[ParsedDate]) -> ParsedDate:
    """A UTC instant on the calendar day the page prints: the smallest whole-hour offset
    that puts ``chosen`` on a printed day one day either side of its UTC day.

    Pages often state the instant in UTC (``…T23:10:00Z``) and print the outlet's own
    day (``1 January``): the day readers see is the publication's day. Only an instant
    stated in UTC is moved, and only to a day some other source states (printed, or in
    the URL); an offset the page stated is never replaced.
    """
    if chosen.naive or chosen.offset not in (None, 0) or chosen.precision != "minute":
        return chosen
    days = {o.value.date() for o in others if o.precision == "day"}
    utc_day = chosen.value.date()
    if not days or utc_day in days:
        return chosen
    limit = int(MAX_UTC_OFFSET.total_seconds() // 3600)
    for hours in range(1, limit + 1):
        for signed in (hours, -hours):
            if (chosen.value + timedelta(hours=signed)).date() in days:
                return ParsedDate(chosen.value, "minute", chosen.raw, offset=signed * 60)
    return chosen


def choose_published(candidates: list[Candidate]) -> ParsedDate | None:
    """Pick the publication date among ``candidates`` (given in source priority order).

    As :func:`choose` (the first candidate anchors, the most precise agreeing one
    wins), except that the date printed for readers overrides a machine-only anchor
    it contradicts (metadata often carries a CMS creation or a stale date) when it is
    backed by at least as many kinds of source as the anchor, and either another kind
    of source (metadata, ``<time>``, URL) confirms it or it is the article's own date
    header. Then the most precise source consistent with it gives the value, a
    zone-aware one before a naive one.
    """
    if not candidates:
        return None
    anchor = candidates[0]
    if not anchor.printed:
        printed = next(
            (
                c
                for c in candidates
                if c.printed and PRECISION_RANK[c.date.precision] >= PRECISION_RANK["day"]
            ),
            None,
        )
        if printed is not None and not consistent(printed.date, anchor.date):
            backing = _backing(candidates, printed.date)
            confirmed = len(backing) > 1 or printed.source == "header"
            if confirmed and len(backing) >= len(_backing(candidates, anchor.date)):
                best = printed.date
                for cand in candidates:
                    date = cand.date
                    rank, best_rank = PRECISION_RANK[date.precision], PRECISION_RANK[best.precision]
                    if consistent(date, printed.date) and (
                        rank > best_rank or (rank == best_rank and best.naive and not date.naive)
                    ):
                        best = date
                return best
    return choose([c.date for c in candidates])
