"""robots.txt: the ``Sitemap:`` lines, nothing else.

Owns `sitemaps_from_robots`. Crawl-permission rules (``Allow``/``Disallow``) are
Scrapy's business (``ROBOTSTXT_OBEY``); this module only lists the sitemaps a site
advertises so discovery can start from them when a source names none.
"""

from __future__ import annotations

import logging

from crawler.discovery.urls import resolve_url

__all__ = ["MAX_ROBOTS_CHARS", "sitemaps_from_robots"]

logger = logging.getLogger(__name__)

MAX_ROBOTS_CHARS = 512 * 1024
"""Only this much of a robots.txt is read (Google reads 500 KiB)."""

_MAX_SITEMAPS = 1000


def sitemaps_from_robots(text: str, base_url: str) -> tuple[str, ...]:
    """The sitemap URLs a robots.txt advertises, in order, de-duplicated.

    ``Sitemap:`` is matched case-insensitively, comments are dropped, relative
    URLs are resolved against ``base_url`` (the robots.txt URL or the site root) and
    anything that is not a followable http(s) URL is skipped.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    text = text[:MAX_ROBOTS_CHARS].lstrip("\ufeff")
    found: dict[str, None] = {}
    for raw_line in text.splitlines():
        line = raw_line.split("#", 1)[0]
        field, sep, value = line.partition(":")
        if not sep or field.strip().lower() not in ("sitemap", "site-map"):
            continue
        url = resolve_url(value, base_url)
        if url is not None:
            found.setdefault(url, None)
            if len(found) >= _MAX_SITEMAPS:
                logger.warning("robots.txt at %s lists over %d sitemaps", base_url, _MAX_SITEMAPS)
                break
    return tuple(found)
