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

from crawler.discovery.dates import parse_date
from crawler.discovery.errors import DiscoveryError, NotXMLError
from crawler.discovery.safexml import (
    child_text,
    children,
    element_text,
    first_child,
    local_name,
    parse_leniently,
    parse_prepared_xml,
    prepare_xml,
)
from crawler.discovery.urls import resolve_url, safe_split

__all__ = [
    "DEFAULT_FEED_MAX_SIZE",
    "MAX_FEED_ENTRIES",
    "Feed",
    "FeedEntry",
    "FeedKind",
    "feed_from_root",
    "normalize_language",
    "parse_feed",
    "parse_prepared_feed",
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
_PUBLISHED = ("pubdate", "date", "published", "issued")
_UPDATED = ("updated", "modified")


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


def _xml_base(element: Any, base_url: str) -> str:
    """``base_url`` updated by the ``xml:base`` of ``element``, when it declares a usable one."""
    declared = element.get(_XML_BASE)
    if not declared:
        return base_url
    try:
        joined = urljoin(base_url, declared.strip())
    except ValueError:
        return base_url
    return joined if safe_split(joined) is not None else base_url


def _rss_link(item: Any, base_url: str) -> str | None:
    for name in ("origlink", "link"):
        for link in children(item, name):
            href = element_text(link, max_length=8192) or link.get("href")
            rel = link.get("rel", "alternate")
            if href and rel == "alternate":
                url = resolve_url(href, _xml_base(link, base_url))
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


def _first_date(element: Any, names: tuple[str, ...], country: str | None) -> datetime | None:
    """The first of the children ``names`` (in that order of preference) that holds a date."""
    for name in names:
        found = parse_date(child_text(element, name), country=country)
        if found is not None:
            return found
    return None


def _rss_entry(
    item: Any, base_url: str, feed_language: str | None, country: str | None
) -> FeedEntry | None:
    base = _xml_base(item, base_url)
    url = _rss_link(item, base)
    if url is None:
        return None
    language = normalize_language(child_text(item, "language")) or feed_language
    return FeedEntry(
        url=url,
        title=_plain(child_text(item, "title")),
        authors=_authors(item),
        published_at=_first_date(item, _PUBLISHED, country),
        updated_at=_first_date(item, _UPDATED, country),
        language=language,
    )


def _atom_link(entry: Any, base_url: str) -> str | None:
    candidates: list[tuple[int, str]] = []
    for link in children(entry, "link"):
        rel = (link.get("rel") or "alternate").strip().lower()
        href = link.get("href") or element_text(link, max_length=8192)
        if rel != "alternate" or not href:
            continue
        link_type = (link.get("type") or "text/html").strip().lower()
        rank = 0 if link_type in ("text/html", "application/xhtml+xml") else 1
        url = resolve_url(href, _xml_base(link, base_url))
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


def _atom_entry(
    entry: Any, base_url: str, feed_language: str | None, country: str | None
) -> FeedEntry | None:
    base = _xml_base(entry, base_url)
    url = _atom_link(entry, base)
    if url is None:
        return None
    language = normalize_language(entry.get(_XML_LANG)) or feed_language
    return FeedEntry(
        url=url,
        title=_atom_title(entry),
        authors=_authors(entry),
        published_at=_first_date(entry, _PUBLISHED, country),
        updated_at=_first_date(entry, _UPDATED, country),
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
    encoding: str | None = None,
    country: str | None = None,
) -> Feed:
    """Parse an RSS, Atom or RDF feed (plain or gzipped) fetched from ``base_url``.

    At most ``max_entries`` items are read (in document order). ``encoding`` is the
    charset the feed came with (HTTP ``Content-Type``): it is used when the feed declares
    none and is not UTF-8. ``country`` (the source's ISO 3166 code) settles ambiguous
    time-zone names in dates (see `crawler.discovery.dates.parse_date`).

    Relative links are resolved against ``base_url`` and ``xml:base``; entries without a
    usable http(s) link are skipped. A feed that is not well-formed is repaired or read
    leniently (see `crawler.discovery.safexml`). Raises `DiscoveryError`:
    ``feed is not XML: ...`` for non-XML input, ``feed is not RSS, Atom or RDF: ...``
    for XML of another kind (e.g. an HTML page), ``feed rejected: ...`` for empty,
    oversized or dangerously entity-declaring bodies.
    """
    try:
        prepared = prepare_xml(body, max_size=max_size, encoding=encoding)
    except DiscoveryError as exc:
        raise DiscoveryError(f"feed rejected: {exc}") from None
    return parse_prepared_feed(prepared, base_url, max_entries=max_entries, country=country)


def parse_prepared_feed(
    prepared: bytes,
    base_url: str,
    *,
    max_entries: int = MAX_FEED_ENTRIES,
    country: str | None = None,
) -> Feed:
    """`parse_feed` for a document `prepare_xml` already made ready."""
    try:
        root = parse_leniently(prepared, parse_prepared_xml)
    except NotXMLError as exc:
        raise DiscoveryError(f"feed is not XML: {exc}") from None
    except DiscoveryError as exc:
        raise DiscoveryError(f"feed rejected: {exc}") from None
    return feed_from_root(root, base_url, max_entries=max_entries, country=country)


def feed_from_root(
    root: Any, base_url: str, *, max_entries: int = MAX_FEED_ENTRIES, country: str | None = None
) -> Feed:
    """The `Feed` a parsed document holds; `DiscoveryError` when it is not a feed."""
    kind = local_name(root)
    base = _xml_base(root, base_url)
    if kind == "rss":
        channel = first_child(root, "channel")
        if channel is None:
            channel = root
        channel_base = _xml_base(channel, base) if channel is not root else base
        language = normalize_language(child_text(channel, "language"))
        # RSS 0.9x puts its items beside the channel, not in it
        rss_items = chain(
            ((item, channel_base) for item in children(channel, "item")),
            ((item, base) for item in children(root, "item")) if channel is not root else (),
        )
        items = [
            _rss_entry(item, item_base, language, country)
            for item, item_base in islice(rss_items, max_entries)
        ]
        return Feed(
            kind="rss",
            title=_plain(child_text(channel, "title")),
            entries=_dedupe(items),
            language=language,
        )
    if kind == "feed":
        language = normalize_language(root.get(_XML_LANG))
        entries = [
            _atom_entry(entry, base, language, country)
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
        items = [
            _rss_entry(item, base, language, country) for item in islice(rdf_items, max_entries)
        ]
        return Feed(kind="rdf", title=title, entries=_dedupe(items), language=language)
    hint = " (looks like an HTML page)" if kind in ("html", "xhtml") else ""
    raise DiscoveryError(f"feed is not RSS, Atom or RDF: root element is <{kind or '?'}>{hint}")
