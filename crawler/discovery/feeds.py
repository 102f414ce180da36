"""Syndication feeds: RSS 0.9x/2.0, Atom 1.0 (and 0.3) and RDF/RSS 1.0.

Owns `parse_feed` and its result types. Elements are matched on local names, so
feeds with odd or missing namespaces work. Each entry yields the article URL plus
whatever the feed states about it (title, authors, dates, language); the crawler
uses those as hints when the page itself is silent.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from typing import Any, Literal
from urllib.parse import urljoin

from crawler.discovery.dates import parse_any_date, parse_rfc822, parse_w3c_datetime
from crawler.discovery.errors import DiscoveryError, NotXMLError
from crawler.discovery.safexml import (
    child_text,
    children,
    element_text,
    first_child,
    local_name,
    parse_xml,
)
from crawler.discovery.urls import resolve_url, safe_split

__all__ = [
    "DEFAULT_FEED_MAX_SIZE",
    "MAX_FEED_ENTRIES",
    "Feed",
    "FeedEntry",
    "FeedKind",
    "normalize_language",
    "parse_feed",
]

logger = logging.getLogger(__name__)

DEFAULT_FEED_MAX_SIZE = 20 * 1024 * 1024
"""Default cap on a feed body, after decompression."""

MAX_FEED_ENTRIES = 10_000
"""Default cap on items read from one feed."""

FeedKind = Literal["rss", "atom", "rdf"]
"""The feed dialect: RSS 0.9x/2.0, Atom, or RDF (RSS 1.0)."""

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_LANGUAGE = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")
_TAG = re.compile(r"<[^>]{0,1000}>")
_EMAIL_WITH_NAME = re.compile(r"^\s*\S+@\S+\s*\((?P<name>[^()]+)\)\s*$")
_MAX_AUTHORS = 20
_NAME_SEPARATORS = re.compile(r"\s*[,;/&]\s*|\s+(?:and|und|et|y|e|и)\s+")


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item/entry of a feed."""

    url: str
    """Absolute http(s) URL of the article (resolved against the feed URL)."""

    title: str | None = None
    """Entry title as plain text (markup stripped, entities decoded)."""

    authors: tuple[str, ...] = ()
    """Author names in feed order (``dc:creator``, ``author``, Atom ``author/name``).

    One element listing several full names ("A B, C D und E F") is split; bare
    e-mail addresses are dropped; ``mail@x (Name)`` gives ``Name``."""

    published_at: datetime | None = None
    """Publication time (``pubDate``, ``dc:date``, Atom ``published``), aware UTC."""

    updated_at: datetime | None = None
    """Last update (Atom ``updated``, ``dc:modified``), aware UTC."""

    language: str | None = None
    """Primary language subtag (``de`` for ``de-DE``) of the entry or, failing that, the feed."""


@dataclass(frozen=True, slots=True)
class Feed:
    """A parsed feed."""

    kind: FeedKind
    """``rss``, ``atom`` or ``rdf``."""

    title: str | None = None
    """Channel/feed title as plain text."""

    entries: tuple[FeedEntry, ...] = ()
    """Entries with a usable URL, in feed order, de-duplicated by URL."""

    language: str | None = None
    """Primary language subtag declared for the whole feed, if any."""


def normalize_language(value: str | None) -> str | None:
    """Primary subtag of a language tag, lower-cased (``de-DE`` → ``de``); None if not one."""
    if not value:
        return None
    match = _LANGUAGE.fullmatch(value.strip())
    return match.group(1).lower() if match else None


def _plain(text: str | None, *, markup: bool = True) -> str | None:
    """Text with HTML tags stripped and entities decoded; None when empty."""
    if not text:
        return None
    if markup and "<" in text:
        text = _TAG.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    text = " ".join(text.split())
    return text or None


def _author_name(text: str | None) -> str | None:
    text = _plain(text)
    if not text:
        return None
    match = _EMAIL_WITH_NAME.match(text)
    if match:
        return match.group("name").strip() or None
    if "@" in text and " " not in text:
        return None  # a bare e-mail address is not a name
    return text[:256]


def _split_names(text: str) -> list[str]:
    """Split "A B, C D und E F" into names, but keep "Doe, Jane" (a one-word part) whole."""
    parts = [p.strip() for p in _NAME_SEPARATORS.split(text)]
    if len(parts) > 1 and all(len(p.split()) >= 2 for p in parts):
        return parts
    return [text]


def _authors(item: Any) -> tuple[str, ...]:
    names: list[str] = []
    for child in item:
        name = local_name(child)
        if name == "creator":
            found = _author_name(element_text(child))
        elif name == "author":
            inner = first_child(child, "name")
            found = _author_name(element_text(inner if inner is not None else child))
        else:
            continue
        for one in _split_names(found) if found else ():
            if one not in names and len(names) < _MAX_AUTHORS:
                names.append(one)
    return tuple(names)


def _rss_link(item: Any, base_url: str) -> str | None:
    for name in ("origlink", "link"):
        for link in children(item, name):
            href = element_text(link, max_length=8192) or link.get("href")
            rel = link.get("rel", "alternate")
            if href and rel == "alternate":
                url = resolve_url(href, base_url)
                if url:
                    return url
    guid = first_child(item, "guid")
    if guid is not None and (guid.get("isPermaLink") or "true").strip().lower() != "false":
        text = element_text(guid, max_length=8192)
        if text and safe_split(text.strip()) is not None:
            return resolve_url(text, base_url)
    about = item.get(_RDF_ABOUT)
    if about:
        return resolve_url(about, base_url)
    return None


def _rss_entry(item: Any, base_url: str, feed_language: str | None) -> FeedEntry | None:
    url = _rss_link(item, base_url)
    if url is None:
        return None
    published = (
        parse_rfc822(child_text(item, "pubdate"))
        or parse_any_date(child_text(item, "date"))
        or parse_any_date(child_text(item, "published"))
        or parse_any_date(child_text(item, "issued"))
    )
    updated = parse_any_date(child_text(item, "modified")) or parse_any_date(
        child_text(item, "updated")
    )
    language = normalize_language(child_text(item, "language")) or feed_language
    return FeedEntry(
        url=url,
        title=_plain(child_text(item, "title")),
        authors=_authors(item),
        published_at=published,
        updated_at=updated,
        language=language,
    )


def _atom_base(element: Any, base_url: str) -> str:
    declared = element.get(_XML_BASE)
    if not declared:
        return base_url
    try:
        joined = urljoin(base_url, declared.strip())
    except ValueError:
        return base_url
    return joined if safe_split(joined) is not None else base_url


def _atom_link(entry: Any, base_url: str) -> str | None:
    candidates: list[tuple[int, str]] = []
    for link in children(entry, "link"):
        rel = (link.get("rel") or "alternate").strip().lower()
        href = link.get("href") or element_text(link, max_length=8192)
        if rel != "alternate" or not href:
            continue
        link_type = (link.get("type") or "text/html").strip().lower()
        rank = 0 if link_type in ("text/html", "application/xhtml+xml") else 1
        url = resolve_url(href, _atom_base(link, base_url))
        if url:
            candidates.append((rank, url))
    if candidates:
        return min(candidates, key=lambda c: c[0])[1]
    entry_id = child_text(entry, "id", max_length=8192)
    if entry_id and safe_split(entry_id) is not None:
        return entry_id
    return None


def _atom_title(element: Any) -> str | None:
    title = first_child(element, "title")
    if title is None:
        return None
    kind = (title.get("type") or "text").strip().lower()
    text = element_text(title)
    return _plain(text, markup=kind in ("html", "text/html"))


def _atom_entry(entry: Any, base_url: str, feed_language: str | None) -> FeedEntry | None:
    base = _atom_base(entry, base_url)
    url = _atom_link(entry, base)
    if url is None:
        return None
    published = parse_w3c_datetime(child_text(entry, "published")) or parse_any_date(
        child_text(entry, "issued")
    )
    updated = parse_w3c_datetime(child_text(entry, "updated")) or parse_any_date(
        child_text(entry, "modified")
    )
    language = normalize_language(entry.get(_XML_LANG)) or feed_language
    return FeedEntry(
        url=url,
        title=_atom_title(entry),
        authors=_authors(entry),
        published_at=published,
        updated_at=updated,
        language=language,
    )


def _dedupe(entries: list[FeedEntry | None]) -> tuple[FeedEntry, ...]:
    seen: dict[str, FeedEntry] = {}
    for entry in entries:
        if entry is not None and entry.url not in seen:
            seen[entry.url] = entry
    return tuple(seen.values())


def parse_feed(
    body: bytes,
    base_url: str,
    *,
    max_size: int = DEFAULT_FEED_MAX_SIZE,
    max_entries: int = MAX_FEED_ENTRIES,
) -> Feed:
    """Parse an RSS, Atom or RDF feed (plain or gzipped) fetched from ``base_url``.

    At most ``max_entries`` items are read (in document order).

    Relative links are resolved against ``base_url`` (and Atom ``xml:base``);
    entries without a usable http(s) link are skipped. Raises `DiscoveryError`:
    ``feed is not XML: ...`` for non-XML input, ``feed is not RSS, Atom or RDF: ...``
    for XML of another kind (e.g. an HTML page), ``feed rejected: ...`` for empty,
    oversized or entity-declaring bodies.
    """
    try:
        root = parse_xml(body, max_size=max_size, recover=True)
    except NotXMLError as exc:
        raise DiscoveryError(f"feed is not XML: {exc}") from None
    except DiscoveryError as exc:
        raise DiscoveryError(f"feed rejected: {exc}") from None
    kind = local_name(root)
    if kind == "rss":
        channel = first_child(root, "channel")
        if channel is None:
            channel = root
        language = normalize_language(child_text(channel, "language"))
        items = [
            _rss_entry(item, base_url, language)
            for item in islice(children(channel, "item"), max_entries)
        ]
        return Feed(
            kind="rss",
            title=_plain(child_text(channel, "title")),
            entries=_dedupe(items),
            language=language,
        )
    if kind == "feed":
        base = _atom_base(root, base_url)
        language = normalize_language(root.get(_XML_LANG))
        entries = [
            _atom_entry(entry, base, language)
            for entry in islice(children(root, "entry"), max_entries)
        ]
        return Feed(
            kind="atom", title=_atom_title(root), entries=_dedupe(entries), language=language
        )
    if kind == "rdf":
        channel = first_child(root, "channel")
        language = None
        title = None
        if channel is not None:
            language = normalize_language(child_text(channel, "language"))
            title = _plain(child_text(channel, "title"))
        rdf_items = chain(
            children(root, "item"), children(channel, "item") if channel is not None else ()
        )
        items = [_rss_entry(item, base_url, language) for item in islice(rdf_items, max_entries)]
        return Feed(kind="rdf", title=title, entries=_dedupe(items), language=language)
    hint = " (looks like an HTML page)" if kind in ("html", "xhtml") else ""
    raise DiscoveryError(f"feed is not RSS, Atom or RDF: root element is <{kind or '?'}>{hint}")
