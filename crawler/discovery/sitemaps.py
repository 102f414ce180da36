"""XML sitemaps: ``<urlset>`` and ``<sitemapindex>``, incl. Google News extensions.

Owns `parse_sitemap` and its result types. Elements are matched on local names, so
sitemaps with a wrong, old (``0.84``) or missing namespace work. Google News
(``news:``) data is read; ``xhtml:link``, ``image:`` and ``video:`` extensions are
ignored. Dates are W3C datetimes; an invalid date is None, not an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from crawler.discovery.dates import parse_any_date
from crawler.discovery.errors import DiscoveryError, NotXMLError
from crawler.discovery.feeds import normalize_language
from crawler.discovery.safexml import (
    DEFAULT_MAX_SIZE,
    child_text,
    children,
    first_child,
    local_name,
    parse_xml,
)
from crawler.discovery.urls import resolve_url

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


def _news_entry(url_el: Any, url: str, lastmod: datetime | None) -> SitemapEntry:
    news = first_child(url_el, "news")
    if news is None:
        return SitemapEntry(url=url, lastmod=lastmod)
    publication = first_child(news, "publication")
    name = language = None
    if publication is not None:
        name = child_text(publication, "name", max_length=512)
        language = child_text(publication, "language", max_length=16)
    return SitemapEntry(
        url=url,
        lastmod=lastmod,
        news_title=child_text(news, "title"),
        news_publication_date=parse_any_date(child_text(news, "publication_date")),
        news_language=normalize_language(language),
        news_publication_name=name,
    )


def _warn_truncated(base_url: str, limit: int) -> None:
    logger.warning("sitemap %s lists more than %d entries; the rest are ignored", base_url, limit)


def parse_sitemap(
    body: bytes,
    base_url: str,
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    max_entries: int = MAX_SITEMAP_ENTRIES,
) -> Sitemap:
    """Parse a sitemap (plain or gzipped XML) fetched from ``base_url``.

    At most ``max_entries`` URLs (or child sitemaps) are returned; the rest are
    dropped with a warning (the protocol allows 50,000 per file).

    Relative ``<loc>`` values are resolved against ``base_url``; locs that are not
    http(s), carry credentials or are malformed are skipped. Raises `DiscoveryError`
    when the body is empty, too large (also once inflated), not XML, declares
    entities, or is XML but neither a ``urlset`` nor a ``sitemapindex``.
    """
    try:
        root = parse_xml(body, max_size=max_size, recover=True)
    except NotXMLError as exc:
        raise DiscoveryError(f"sitemap is not XML: {exc}") from None
    except DiscoveryError as exc:
        raise DiscoveryError(f"sitemap rejected: {exc}") from None
    kind = local_name(root)
    if kind == "urlset":
        entries: dict[str, SitemapEntry] = {}
        skipped = 0
        for url_el in children(root, "url"):
            if len(entries) >= max_entries:
                _warn_truncated(base_url, max_entries)
                break
            url = resolve_url(child_text(url_el, "loc") or "", base_url)
            if url is None:
                skipped += 1
                continue
            if url not in entries:
                lastmod = parse_any_date(child_text(url_el, "lastmod"))
                entries[url] = _news_entry(url_el, url, lastmod)
        if skipped:
            logger.debug("sitemap %s: skipped %d entries without a usable <loc>", base_url, skipped)
        return Sitemap(kind="urlset", entries=tuple(entries.values()))
    if kind == "sitemapindex":
        refs: dict[str, SitemapRef] = {}
        for sitemap_el in children(root, "sitemap"):
            if len(refs) >= max_entries:
                _warn_truncated(base_url, max_entries)
                break
            url = resolve_url(child_text(sitemap_el, "loc") or "", base_url)
            if url is not None and url not in refs:
                lastmod = parse_any_date(child_text(sitemap_el, "lastmod"))
                refs[url] = SitemapRef(url=url, lastmod=lastmod)
        return Sitemap(kind="sitemapindex", sitemaps=tuple(refs.values()))
    hint = " (looks like an HTML page)" if kind == "html" else ""
    raise DiscoveryError(
        f"sitemap is not a sitemap: root element is <{kind or '?'}>, "
        f"expected <urlset> or <sitemapindex>{hint}"
    )
