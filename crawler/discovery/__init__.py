"""Discovery: pure parsers turning fetched bytes into URLs worth crawling.

Owns sitemap, feed, robots.txt and listing-page parsing plus the freshness rule.
Nothing here fetches, touches Scrapy or a database: every function takes bytes or
text and returns frozen dataclasses, or raises `DiscoveryError` with a reason.
Hostile input (XML bombs, XXE, gzip bombs, garbage) is bounded in time and memory.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crawler.discovery.dates import is_fresh, parse_rfc822, parse_w3c_datetime
    from crawler.discovery.errors import DiscoveryError, NotXMLError
    from crawler.discovery.feeds import (
        Feed,
        FeedEntry,
        FeedKind,
        normalize_language,
        parse_feed,
    )
    from crawler.discovery.links import extract_links, pagination_links
    from crawler.discovery.robots import sitemaps_from_robots
    from crawler.discovery.safexml import maybe_gunzip
    from crawler.discovery.sitemaps import (
        Sitemap,
        SitemapEntry,
        SitemapKind,
        SitemapRef,
        parse_sitemap,
    )
    from crawler.discovery.urls import resolve_url

_HOMES = {
    "is_fresh": "dates", "parse_rfc822": "dates", "parse_w3c_datetime": "dates",
    "DiscoveryError": "errors", "NotXMLError": "errors",
    "Feed": "feeds", "FeedEntry": "feeds", "FeedKind": "feeds",
    "normalize_language": "feeds", "parse_feed": "feeds",
    "extract_links": "links", "pagination_links": "links",
    "sitemaps_from_robots": "robots",
    "maybe_gunzip": "safexml",
    "Sitemap": "sitemaps", "SitemapEntry": "sitemaps", "SitemapKind": "sitemaps",
    "SitemapRef": "sitemaps", "parse_sitemap": "sitemaps",
    "resolve_url": "urls",
}  # fmt: skip
"""Each name of `__all__` -> its module, imported when the name is first asked for: a
module that needs one of them (`crawler.sources` the URL helpers) does not import the
XML parsers (lxml, ~50 ms of ``newsingest status``'s start-up)."""


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DiscoveryError",
    "Feed",
    "FeedEntry",
    "FeedKind",
    "NotXMLError",
    "Sitemap",
    "SitemapEntry",
    "SitemapKind",
    "SitemapRef",
    "extract_links",
    "is_fresh",
    "maybe_gunzip",
    "normalize_language",
    "pagination_links",
    "parse_feed",
    "parse_rfc822",
    "parse_sitemap",
    "parse_w3c_datetime",
    "resolve_url",
    "sitemaps_from_robots",
]
