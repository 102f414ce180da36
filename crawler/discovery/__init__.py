"""Discovery: pure parsers turning fetched bytes into URLs worth crawling.

Owns sitemap, feed, robots.txt and listing-page parsing plus the freshness rule.
Nothing here fetches, touches Scrapy or a database: every function takes bytes or
text and returns frozen dataclasses, or raises `DiscoveryError` with a reason.
Hostile input (XML bombs, XXE, gzip bombs, garbage) is bounded in time and memory.
"""

from __future__ import annotations

from crawler.discovery.dates import is_fresh, parse_rfc822, parse_w3c_datetime
from crawler.discovery.errors import DiscoveryError, NotXMLError
from crawler.discovery.feeds import Feed, FeedEntry, FeedKind, normalize_language, parse_feed
from crawler.discovery.links import extract_links, pagination_links
from crawler.discovery.robots import sitemaps_from_robots
from crawler.discovery.safexml import maybe_gunzip
from crawler.discovery.sitemaps import Sitemap, SitemapEntry, SitemapKind, SitemapRef, parse_sitemap
from crawler.discovery.urls import resolve_url

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
