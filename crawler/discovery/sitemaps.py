"""Sitemaps: ``<urlset>`` and ``<sitemapindex>`` (incl. Google News), text sitemaps.

Owns `parse_sitemap` and its result types. XML is read incrementally. Elements are
matched on local names, so sitemaps with a wrong, old (``0.84``) or missing namespace
work. Google News (``news:``) data is read; ``xhtml:link``, ``image:`` and ``video:``
extensions are ignored. Dates go through `crawler.discovery.dates.parse_date` (W3C,
RFC 822 and their variants); an invalid date is None, not an error. What is listed as a
sitemap but is a plain-text list of URLs or a feed is read as what it is.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from crawler.discovery.dates import parse_date
from crawler.discovery.errors import DiscoveryError, NotXMLError
from crawler.discovery.feeds import Feed, normalize_language, parse_prepared_feed
from crawler.discovery.safexml import (
    DEFAULT_MAX_SIZE,
    FEED_ROOTS,
    element_text,
    iter_records,
    local_name,
    parse_leniently,
    parse_prepared_xml,
    prepare_xml,
    root_name,
)
from crawler.discovery.urls import _BAD_CHARS, resolve_url

__all__ = [
    "MAX_SITEMAP_ENTRIES",
    "Sitemap",
    "SitemapEntry",
    "SitemapKind",
    "SitemapRef",
    "parse_sitemap",
]

logger = logging.getLogger(__name__)

MAX_SITEMAP_ENTRIES = 50_000
"""Default cap on entries taken from one sitemap file (the sitemap protocol's limit)."""

_MAX_LINE = 8192
_RECORD_CHILDREN = frozenset({"loc", "lastmod", "news"})
_RECORD_NAMES = {
    "urlset": ("url", "URL", "Url"),
    "sitemapindex": ("sitemap", "SITEMAP", "Sitemap"),
}
"""Record elements of each sitemap type, in the spellings found in the wild."""

SitemapKind = Literal["urlset", "sitemapindex"]
"""Which of the two sitemap document types a sitemap is."""


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """One ``<url>`` of a ``<urlset>``: a page, possibly with Google News data."""

    url: str
    """Absolute http(s) URL of the page (``<loc>``, resolved against the sitemap URL)."""

    lastmod: datetime | None = None
    """``<lastmod>`` as an aware UTC datetime; None when missing or invalid."""

    news_title: str | None = None
    """``<news:title>`` from a Google News sitemap."""

    news_publication_date: datetime | None = None
    """``<news:publication_date>`` as an aware UTC datetime."""

    news_language: str | None = None
    """``<news:publication><news:language>`` as a primary subtag (``zh-cn`` → ``zh``)."""

    news_publication_name: str | None = None
    """``<news:publication><news:name>``, the outlet's name."""

    authors: tuple[str, ...] = ()
    """Author names, when the "sitemap" was a feed (see `crawler.discovery.feeds.FeedEntry`)."""

    @property
    def published_at(self) -> datetime | None:
        """Best publication time: the news publication date, else ``lastmod``."""
        return self.news_publication_date or self.lastmod


@dataclass(frozen=True, slots=True)
class SitemapRef:
    """One ``<sitemap>`` of a ``<sitemapindex>``: a child sitemap to fetch."""

    url: str
    """Absolute http(s) URL of the child sitemap."""

    lastmod: datetime | None = None
    """``<lastmod>`` of the child sitemap; None when missing or invalid."""


@dataclass(frozen=True, slots=True)
class Sitemap:
    """A parsed sitemap document."""

    kind: SitemapKind
    """``urlset`` (pages) or ``sitemapindex`` (child sitemaps)."""

    entries: tuple[SitemapEntry, ...] = ()
    """Pages listed by a ``urlset``, in document order, de-duplicated by URL."""

    sitemaps: tuple[SitemapRef, ...] = ()
    """Child sitemaps listed by a ``sitemapindex``, in order, de-duplicated by URL."""


def _text(element: Any) -> str | None:
    """The text of a childless element, stripped; all its text otherwise."""
    if len(element):
        return element_text(element, max_length=8192)
    text = element.text
    return text.strip() if text else None


class _Reader:
    """Reads the records of one sitemap: URLs resolved, dates parsed with the source's country.

    `resolve_url` is the rule for a followable URL; it is also most of the time spent on
    a sitemap. Every absolute URL that begins with the ``scheme://host/`` of one it has
    accepted is accepted too when it has no whitespace or control character and is
    not too long: scheme, host, port and credentials are read from that prefix alone.
    """

    def __init__(self, base_url: str, country: str | None) -> None:
        self.base_url = base_url
        self.country = country
        self.prefixes: set[str] = set()
        self.names: dict[str, str] = {}

    def url(self, loc: str) -> str | None:
        slash = loc.find("/", loc.find("://") + 3) if "://" in loc else -1
        if slash > 0:
            prefix = loc[: slash + 1]
            if (
                prefix in self.prefixes
                and len(loc) <= _MAX_LINE
                and not loc.endswith("#")
                and _BAD_CHARS.search(loc) is None
            ):
                return loc
        url = resolve_url(loc, self.base_url)
        if url is not None and url == loc and slash > 0:
            self.prefixes.add(loc[: slash + 1])
        return url

    def date(self, text: str | None) -> datetime | None:
        return parse_date(text, country=self.country) if text else None

    def local(self, element: Any) -> str:
        """Lower-case local name of ``element`` (memoised per tag: lxml builds a new string)."""
        tag = element.tag
        local = self.names.get(tag)
        if local is None:
            local = tag[tag.rfind("}") + 1 :].lower() if type(tag) is str else ""
            if len(self.names) < 1000:
                self.names[tag] = local
        return local

    def record(self, element: Any) -> tuple[str | None, datetime | None, Any]:
        """The resolved ``<loc>``, the ``<lastmod>`` and the ``<news:news>`` of a record."""
        loc = lastmod = news = None
        for child in element:
            local = self.local(child)
            if local == "loc":
                if loc is None:
                    loc = _text(child)
            elif local == "lastmod":
                if lastmod is None:
                    lastmod = _text(child)
            elif local == "news" and news is None:
                news = child
        return (self.url(loc) if loc else None), self.date(lastmod), news

    def news(self, news: Any) -> tuple[str | None, datetime | None, str | None, str | None]:
        """Title, publication date, language and outlet name of a ``<news:news>`` element."""
        title = published = language = name = None
        publication = None
        for child in news:
            local = self.local(child)
            if local == "title":
                if title is None:
                    title = _text(child)
                    title = " ".join(title.split())[:2048] if title else None
            elif local == "publication_date":
                if published is None:
                    published = self.date(_text(child))
            elif local == "publication" and publication is None:
                publication = child
        if publication is not None:
            for child in publication:
                local = self.local(child)
                if local == "name" and name is None:
                    name = _text(child)
                    name = " ".join(name.split())[:512] if name else None
                elif local == "language" and language is None:
                    language = normalize_language(_text(child))
        return title, published, language, name


def _warn_truncated(base_url: str, limit: int) -> None:
    logger.warning("sitemap %s lists more than %d entries; the rest are ignored", base_url, limit)


def _xml_sitemap(
    prepared: bytes,
    kind: str,
    base_url: str,
    max_entries: int,
    country: str | None,
    recover: bool,
) -> Sitemap:
    entries: dict[str, SitemapEntry] = {}
    refs: dict[str, SitemapRef] = {}
    skipped = 0
    reader = _Reader(base_url, country)
    for element in iter_records(prepared, recover, _RECORD_NAMES[kind]):
        if len(entries) + len(refs) >= max_entries:
            _warn_truncated(base_url, max_entries)
            break
        url, lastmod, news = reader.record(element)
        if url is None:
            skipped += 1
        elif kind == "sitemapindex":
            if url not in refs:
                refs[url] = SitemapRef(url=url, lastmod=lastmod)
        elif url not in entries:
            if news is None:
                entries[url] = SitemapEntry(url=url, lastmod=lastmod)
            else:
                title, published, language, name = reader.news(news)
                entries[url] = SitemapEntry(
                    url=url,
                    lastmod=lastmod,
                    news_title=title,
                    news_publication_date=published,
                    news_language=language,
                    news_publication_name=name,
                )
    if skipped:
        logger.debug("sitemap %s: skipped %d entries without a usable <loc>", base_url, skipped)
    if kind == "sitemapindex":
        return Sitemap(kind="sitemapindex", sitemaps=tuple(refs.values()))
    return Sitemap(kind="urlset", entries=tuple(entries.values()))


def _text_sitemap(prepared: bytes, base_url: str, max_entries: int) -> Sitemap:
    """A plain-text sitemap: one absolute URL a line (UTF-8); other lines are skipped."""
    reader = _Reader(base_url, None)
    entries: dict[str, SitemapEntry] = {}
    seen: set[bytes] = set()
    skipped = 0
    pos, size = 0, len(prepared)
    while pos < size:
        end = prepared.find(b"\n", pos)
        if end < 0:
            end = size
        line = prepared[pos : min(end, pos + _MAX_LINE + 1)].strip()
        too_long = end - pos > _MAX_LINE
        pos = end + 1
        if not line or line in seen:
            continue
        url = None
        if not too_long and line[:8].lower().startswith((b"http://", b"https://")):
            url = reader.url(line.decode("utf-8", errors="replace"))
        if url is None:
            skipped += 1
            continue
        if url not in entries:
            if len(entries) >= max_entries:
                _warn_truncated(base_url, max_entries)
                break
            entries[url] = SitemapEntry(url=url)
            seen.add(line)
    if skipped:
        logger.debug("text sitemap %s: skipped %d lines that are not URLs", base_url, skipped)
    return Sitemap(kind="urlset", entries=tuple(entries.values()))


def _from_feed(feed: Feed) -> Sitemap:
    return Sitemap(
        kind="urlset",
        entries=tuple(
            SitemapEntry(
                url=e.url,
                lastmod=e.updated_at,
                news_title=e.title,
                news_publication_date=e.published_at,
                news_language=e.language,
                authors=e.authors,
            )
            for e in feed.entries
        ),
    )


def parse_sitemap(
    body: bytes,
    base_url: str,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_entries: int = MAX_SITEMAP_ENTRIES,
    encoding: str | None = None,
    country: str | None = None,
) -> Sitemap:
    """Parse a sitemap (XML or plain text, plain or gzipped) fetched from ``base_url``.

    At most ``max_entries`` URLs (or child sitemaps) are returned; the rest are
    dropped with a warning (the protocol allows 50,000 per file). XML is read
    incrementally, so memory stays bounded whatever the document's size. A text sitemap
    (one URL a line) is read line by line; an RSS, Atom or RDF feed listed as a sitemap
    is read as a feed (its entries become `SitemapEntry` values). ``encoding`` is the
    charset the document came with (HTTP ``Content-Type``), used when the document
    declares none and is not UTF-8; ``country`` (the source's ISO 3166 code) settles
    ambiguous time-zone names in dates.

    Relative ``<loc>`` values are resolved against ``base_url``; locs that are not
    http(s), carry credentials or are malformed are skipped. A sitemap that is not
    well-formed is repaired or read leniently, a truncated one up to its last complete
    entry (see `crawler.discovery.safexml`). Raises `DiscoveryError` when the body is
    empty, too large (also once inflated), not XML, declares dangerous entities, or is
    XML but neither a sitemap nor a feed.
    """
    try:
        prepared = prepare_xml(body, max_size=max_size, encoding=encoding)
    except DiscoveryError as exc:
        raise DiscoveryError(f"sitemap rejected: {exc}") from None
    if prepared[:8].lower().startswith((b"http://", b"https://")):
        return _text_sitemap(prepared, base_url, max_entries)
    if root_name(prepared) in FEED_ROOTS:
        logger.info("sitemap %s is a feed; it is read as one", base_url)
        try:
            feed = parse_prepared_feed(prepared, base_url, max_entries=max_entries, country=country)
        except DiscoveryError as exc:
            raise DiscoveryError(f"sitemap is a feed, but {exc}") from None
        return _from_feed(feed)
    kind = root_name(prepared)
    try:
        if kind not in _RECORD_NAMES:
            # not a sitemap, or one whose start the quick look misread: parse it whole
            kind = local_name(parse_leniently(prepared, parse_prepared_xml))
            if kind not in _RECORD_NAMES:
                hint = " (looks like an HTML page)" if kind == "html" else ""
                raise DiscoveryError(
                    f"sitemap is not a sitemap: root element is <{kind or '?'}>, "
                    f"expected <urlset> or <sitemapindex>{hint}"
                )
        return parse_leniently(
            prepared,
            lambda doc, recover: _xml_sitemap(doc, kind, base_url, max_entries, country, recover),
        )
    except NotXMLError as exc:
        raise DiscoveryError(f"sitemap is not XML: {exc}") from None
    except DiscoveryError as exc:
        if str(exc).startswith("sitemap is not a sitemap"):
            raise
        raise DiscoveryError(f"sitemap rejected: {exc}") from None
