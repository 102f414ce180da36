"""The published date (and the modified date): which of the page's dates is the article's.

Owns the date header printed at the head or foot of the body (it leaves the text), the
candidates (the hint's date selector, JSON-LD, the date metas, ``itemprop``, the header,
a date near the headline, a date element, ``<time>``, the URL), the fallbacks when none
is found (htmldate's quick search, the first printed day, htmldate's extensive search,
the feed's hint), and ``published_raw`` as printed. Reading one date string and weighing
the candidates is :mod:`crawler.extraction.dates`'s. Naive times are taken as UTC.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from htmldate import find_date

from crawler.extraction import dates, signals
from crawler.extraction.body import HEAD_PARAGRAPHS, TAIL_PARAGRAPHS
from crawler.extraction.dom import Dom, select
from crawler.extraction.language import normalize_lang
from crawler.extraction.metadata import PageMeta, ld_text
from crawler.extraction.record import Hints
from crawler.extraction.text import normalize_line

logger = logging.getLogger(__name__)

EXTENSIVE_DATE_SEARCH = True
"""Run htmldate's extensive search when its quick search found nothing either (pages
without any date metadata; ~50-100 ms each, rare on news sites)."""

_PUBLISHED_META = (
    "article:published_time",
    "og:published_time",
    "og:article:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "publication_date",
    "date.published",
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "date",
    "sailthru.date",
    "parsely-pub-date",
    "citation_publication_date",
    "article.published",
    "originalpublicationdate",
)
_MODIFIED_META = (
    "article:modified_time",
    "og:updated_time",
    "datemodified",
    "dc.date.modified",
    "dcterms.modified",
    "last-modified",
)


FUTURE_TOLERANCE = timedelta(days=2)
"""How far past the moment of extraction a date may lie (clocks and zones differ): a
later "publication" is a cookie's expiry, an event or a schedule, never this article's."""

_DATE_SIGNALS = {"title": signals.VISIBLE, "element": signals.VISIBLE}
"""Candidate sources that belong to a differently named signal (the rest share names)."""


def take_date_header(
    paragraphs: list[str], lang: str | None
) -> tuple[dates.ParsedDate | None, int | None, list[str]]:
    """The date line printed in the body, its index, and the paragraphs without it.

    Looked for in the body's head (a labelled header run into the lead keeps the lead
    text), then as a paragraph of its own in the body's foot.
    """
    paragraphs = list(paragraphs)
    header_date: dates.ParsedDate | None = None
    header_index: int | None = None
    for i, para in enumerate(paragraphs[:HEAD_PARAGRAPHS]):
        if dates.is_modified_label(para):
            continue
        found_header = dates.match_date_header(para, lang)
        if found_header:
            header_date, rest = found_header
            header_index = i
            if rest:
                paragraphs[i] = rest
            else:
                paragraphs.pop(i)
            break
    if header_date is None:
        for i in range(len(paragraphs) - 1, max(-1, len(paragraphs) - 1 - TAIL_PARAGRAPHS), -1):
            found_header = dates.match_date_header(paragraphs[i], lang)
            if found_header and not found_header[1]:
                header_date = found_header[0]
                paragraphs.pop(i)
                break
    return header_date, header_index, paragraphs


def published_date(
    meta: PageMeta,
    dom: Dom,
    tree: Any,
    url: str,
    header: dates.ParsedDate | None,
    hints: Hints,
    lang: str | None,
    body_text: str,
    translated: datetime | None = None,
) -> dates.ParsedDate | None:
    """The article's publication date, with ``published_raw`` as printed where it is.

    ``header`` is the body's date line (:func:`take_date_header`), ``lang`` the language
    guess, ``translated`` the original's date from a translation note (never this
    article's).
    """
    candidates: list[dates.Candidate] = []
    visible: list[dates.ParsedDate] = []
    # The declared locale says more than the language about numeric dates (en-GB: d/m).
    locale = next(
        (v for v in (meta.html_lang, meta.first("og:locale")) if v and normalize_lang(v) == lang),
        lang,
    )
    if header is not None and dates.month_first(locale) != dates.month_first(lang):
        reread = dates.match_date_header(header.raw, locale)
        header = reread[0] if reread else header
    lang = locale

    latest = datetime.now(UTC) + FUTURE_TOLERANCE

    def add(parsed: dates.ParsedDate | None, source: str, *, printed: bool = False) -> None:
        if parsed is None or parsed.value > latest:
            return
        if signals.on(_DATE_SIGNALS.get(source, source)):
            candidates.append(dates.Candidate(parsed, source, printed))
            if printed:
                visible.append(parsed)

    if hints.date_selector:
        for el in select(tree, hints.date_selector)[:1]:
            value = el.get("datetime") or el.get("content")
            if value:
                add(dates.parse_machine_date(value), "selector")
            text = normalize_line(el.text_content())
            found = dates.match_date_header(text, lang)
            parsed = found[0] if found else dates.parse_text_date(text, lang)
            add(parsed, "selector", printed=True)
    for obj in (meta.article, meta.page):
        value = ld_text(obj.get("datePublished") or obj.get("dateCreated")) if obj else None
        if value:
            add(dates.parse_machine_date(value), "jsonld")
    for name in _PUBLISHED_META:
        for value in meta.meta.get(name, ())[:1]:
            if value in meta.microdata.get(name, ()) and value in dom.published_time:
                continue  # ``<meta itemprop>`` in the body: one statement, the itemprop's
            add(dates.parse_machine_date(value), "meta")
    for value in dom.published_time[:1]:
        add(dates.parse_machine_date(value), "itemprop")
    add(header, "header", printed=True)
    if header is None:
        # Unlabelled month-only texts near the headline are usually archive widgets.
        for text in dom.title_dates:
            found = dates.match_date_header(text, lang)
            if found and not found[1] and (found[0].precision != "month" or _labelled(text)):
                add(found[0], "title", printed=True)
                break
    for text in dom.date_texts:
        if dates.is_modified_label(text):
            continue
        found = dates.match_date_header(text, lang)
        if found and (found[0].precision != "month" or _labelled(text) or not found[1]):
            # An element marked as a date that prints only a month states a month.
            add(found[0], "element", printed=True)
            break
        parsed = dates.parse_text_date(text, lang)
        if parsed and parsed.precision != "month":
            add(parsed, "element", printed=True)
            break
    for value in dom.time_values[:1]:
        add(dates.parse_machine_date(value), "time")
    for text in dom.time_texts[:2]:
        found = dates.match_date_header(text, lang)
        if found is not None:
            visible.append(found[0])  # printed form only; not a candidate of its own
    add(dates.date_from_url(url), "url")
    if dates.choose_published(candidates) is None:
        add(_fallback_day(tree, dom, url, body_text, lang, translated, latest), "htmldate")
    if hints.published_at is not None and not candidates:
        add(_hinted(hints.published_at), "hint")
    published = dates.choose_published(candidates)
    if published is not None:
        published = dates.as_instant(published, [c.date for c in candidates] + visible)
    if published is not None and published not in visible:
        published = _with_printed_raw(published, visible)
    return published


def _fallback_day(
    tree: Any,
    dom: Dom,
    url: str,
    body_text: str,
    lang: str | None,
    translated: datetime | None,
    latest: datetime,
) -> dates.ParsedDate | None:
    """A day searched for on the page when no candidate gave a date (or None).

    A printed month stays a month (a day elsewhere on the page is another text's, e.g.
    the original's in a translation note). Cheapest first: htmldate's quick search, our
    scan of the printed text, and only then htmldate's extensive search (the expensive
    one). The translation note's date is the original's, never this article's.
    """
    found_day = _htmldate_fallback(tree, url, extensive=False)
    if found_day is None:
        found_day = _text_date_fallback(dom, body_text, lang, latest)
    if found_day is None and EXTENSIVE_DATE_SEARCH:
        found_day = _htmldate_fallback(tree, url, extensive=True)
    if found_day is not None and not (
        translated is not None and found_day.value.date() == translated.date()
    ):
        return found_day
    return None


def _hinted(value: datetime) -> dates.ParsedDate:
    """The feed's or sitemap's publication time (naive: UTC), keeping the offset it states."""
    stated = value.utcoffset()
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = int(stated.total_seconds() // 60) if stated is not None else None
    return dates.ParsedDate(value.astimezone(UTC), "minute", value.isoformat(), offset=offset)


def _with_printed_raw(
    published: dates.ParsedDate, visible: list[dates.ParsedDate]
) -> dates.ParsedDate:
    """``published`` with ``raw`` as printed on the page when a visible date says the same.

    Value and precision stay the best source's; the printed form serves when it is just
    as precise (also a wall clock printed in the page's zone), else the printed day of a
    timestamp.
    """
    local = _as_printed_locally(published)
    same = [
        seen
        for seen in visible
        if seen.precision == published.precision
        and (seen.agrees(published) or seen.agrees(local) or dates.consistent(seen, published))
    ]
    day = [
        seen
        for seen in visible
        if seen.precision == "day"
        and published.precision == "minute"
        and (
            seen.value.date() == local.value.date()
            if local.value != published.value  # the timestamp's own offset: its local day
            else dates.consistent(seen, published)
        )
    ]
    for seen in (*same, *day)[:1]:
        published = dates.ParsedDate(
            published.value, published.precision, seen.raw, offset=published.offset
        )
    return published


def modified_date(meta: PageMeta) -> dates.ParsedDate | None:
    """The date the page says it was last modified: JSON-LD ``dateModified``, then metas."""
    modified: dates.ParsedDate | None = None
    mod_values = [ld_text(obj.get("dateModified")) for obj in (meta.article, meta.page) if obj] + [
        v for name in _MODIFIED_META for v in meta.meta.get(name, ())[:1]
    ]
    for value in mod_values:
        if value:
            modified = dates.parse_machine_date(value)
            if modified:
                break
    return modified


def _as_printed_locally(parsed: dates.ParsedDate) -> dates.ParsedDate:
    """The same date with its wall-clock time in the offset its raw value carried.

    A printed time without zone ("18:05 Uhr") is read as UTC; metadata says
    ``18:05+01:00``. Comparing wall clocks lets the printed form serve as the raw value.
    """
    offset = None
    with contextlib.suppress(ValueError):
        offset = datetime.fromisoformat(parsed.raw.replace("Z", "+00:00")).tzinfo
    if offset is None:
        return parsed
    wall = parsed.value.astimezone(offset).replace(tzinfo=UTC)
    return dates.ParsedDate(wall, parsed.precision, parsed.raw)


def _htmldate_fallback(tree: Any, url: str, *, extensive: bool) -> dates.ParsedDate | None:
    """Last resort when no structured source or header gave a date: htmldate's search.

    htmldate (trafilatura's date library) scans the whole page for date expressions;
    its result is taken as day precision, and ``published_raw`` is its ISO date.
    """
    try:
        found = find_date(tree, extensive_search=extensive, original_date=True, url=url)
    except Exception:
        logger.debug("htmldate failed", exc_info=True)
        return None
    if not found:
        return None
    parsed = dates.parse_machine_date(str(found))
    if parsed is None:
        return None
    if (parsed.value.month, parsed.value.day) == (1, 1):
        # htmldate answers the first of January when all it found was a year, mostly a
        # copyright line ("© 2025"): the site's year, not the article's date. Not taken,
        # so the next, costlier search still runs.
        return None
    return dates.ParsedDate(parsed.value, "day", parsed.raw)


def _labelled(text: str) -> bool:
    """True when ``text`` starts with a date label (``Datum:``, ``date``)."""
    found = dates.match_date_header(text)
    return found is not None and not text.strip().startswith(found[0].raw)


def _text_date_fallback(
    dom: Dom, body_text: str, lang: str | None, latest: datetime
) -> dates.ParsedDate | None:
    """Cheap last resort: the first printed day in the body text, else on the page."""
    for text in (body_text[:3000], dom.visible_text()[:20000]):
        found = dates.first_printed_day(text, lang, latest)
        if found is not None:
            return found
    return None
