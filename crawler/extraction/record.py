"""The record contract: what extraction produces and downstream tools read.

`ArticleRecord` fields are named exactly as the ``articles`` columns they fill
(see docs/schema.md). Everything here is a frozen dataclass of plain values, so
records pickle cheaply across the extraction process pool and compare by value in
golden tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Precision = Literal["year", "month", "day", "minute"]
"""How much of a publication date the page stated."""

StubKind = Literal["paywall", "video"]
"""Why an article's body is only part of it (`ArticleRecord.stub`)."""

RejectionReason = Literal[
    "empty",
    "too_short",
    "not_article",
    "link_page",
    "video_only",
    "paywall",
    "not_html",
    "parse_error",
    "internal_error",
]
"""Why a fetched page produced no record. ``internal_error`` is not the page's fault: the
extractor (or the pool running it) raised, i.e. a bug; the page is recorded as a failure
with that reason and the exception, and tests assert it never occurs."""


@dataclass(frozen=True, slots=True)
class TranslationNote:
    """A note saying the article is a translation of one published elsewhere."""

    note: str
    """The sentence(s) as printed on the page, e.g. ``Translated from Russian.``"""

    source_language: str | None = None
    """ISO 639-1 code of the language translated from (``ru``), when the note names it."""

    original_outlet: str | None = None
    """Outlet that first published the original, when the note names it."""

    original_published_at: datetime | None = None
    """When the original was first published (timezone-aware, UTC), when the note says."""


@dataclass(frozen=True, slots=True)
class Hints:
    """What discovery or the source configuration already knows about a page.

    Used only where the page itself lacks the information.
    """

    title: str | None = None
    """Title from a feed item or a Google News sitemap entry."""

    authors: tuple[str, ...] = ()
    """Authors from a feed item."""

    published_at: datetime | None = None
    """Publication time from a feed item or news sitemap (timezone-aware)."""

    language: str | None = None
    """Expected language (ISO 639-1) from the sitemap entry or the source."""

    byline_selector: str | None = None
    """CSS selector of the visible byline on this site, when the generic rules miss it."""

    date_selector: str | None = None
    """CSS selector of the visible date header on this site."""

    body_selector: str | None = None
    """CSS selector of the article body on this site."""


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """One extracted news article, normalized. Attribute names match ``articles`` columns."""

    url: str
    """Canonical URL: same-site ``rel=canonical``/``og:url`` else the final URL; normalized."""

    text: str
    """Clean body: paragraphs separated by one blank line, Unicode NFC, whitespace collapsed."""

    content_hash: str
    """SHA-256 (hex) of ``text``; a change means a new version."""

    simhash: int
    """64-bit simhash of ``text`` as a signed integer (fits ``bigint``), for near-duplicates."""

    word_count: int
    """Number of words in ``text``."""

    extractor_version: str
    """Version of the extraction code that produced this record."""

    title: str | None = None
    """Headline as printed, without the site's name or a kicker printed over it in the
    ``<h1>`` (``Klimaschutz`` over ``Bohren, bis es heiß wird``)."""

    lead: str | None = None
    """Standfirst or description; never repeated as the first body paragraph."""

    authors: tuple[str, ...] = ()
    """Person names; agency or desk credits are not persons (they go to ``credits``)."""

    credits: tuple[str, ...] = ()
    """Organisations credited for the article: agencies (``dpa``, ``AFP``), desks
    (``Redaktion Politik``), the outlet itself when its byline names it (or, naming no
    person, its author metadata does). Empty when the page credits persons only."""

    byline: str | None = None
    """The byline as printed, e.g. ``Von A und B (agency)``."""

    published_at: datetime | None = None
    """Publication time, timezone-aware UTC; only as exact as ``published_precision`` says."""

    published_precision: Precision | None = None
    """How much of ``published_at`` the page stated: year, month, day or minute."""

    published_utc_offset: int | None = None
    """UTC offset of the outlet's clock at publication, in minutes east of UTC (CET is
    60): as the page stated it with the time, or the gap between a wall clock it prints
    and the UTC instant in its metadata; when the page gives only a UTC instant and
    prints another calendar day, the smallest whole-hour offset that puts the instant on
    that day. None when the page says nothing either way. ``published_at`` shifted by it
    gives the outlet's own wall clock and calendar day."""

    published_raw: str | None = None
    """The date as printed (visible date header or metadata value)."""

    modified_at: datetime | None = None
    """Last modification time, only when the page states one (UTC)."""

    language: str | None = None
    """ISO 639-1 code detected on the body (or the declared one when detection is unsure)."""

    language_confidence: float | None = None
    """Probability of ``language`` from the detector; None when it fell back to the declared one."""

    declared_language: str | None = None
    """Language the page declares (``<html lang>``, ``og:locale``), ISO 639-1."""

    translation: TranslationNote | None = None
    """Translation note, when the article says it is translated from another publication."""

    site_name: str | None = None
    """Publication name (``og:site_name``, JSON-LD publisher)."""

    section: str | None = None
    """Section or category of the article."""

    tags: tuple[str, ...] = ()
    """Keywords and tags."""

    image_url: str | None = None
    """Absolute URL of the lead image."""

    fetched_at: datetime | None = None
    """When the page was fetched (UTC); set by the crawler, not by extraction."""

    stub: StubKind | None = None
    """Why the body is only part of the article: ``paywall`` (the page shows the lead or
    first paragraphs; the rest is behind a paywall) or ``video`` (the story is a video;
    the text is what the page prints beside it). None for a full article."""


@dataclass(frozen=True, slots=True)
class Rejection:
    """A fetched page that is not an article, with the reason. Counted and recorded."""

    url: str
    """The URL that was fetched."""

    reason: RejectionReason
    """Machine-readable reason."""

    detail: str = ""
    """Human-readable explanation."""

    extractor_version: str = field(default="")
    """Version of the extraction code that decided."""
