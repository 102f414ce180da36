"""robots.txt: the ``Sitemap:`` lines, nothing else.

Owns `sitemaps_from_robots`. Crawl-permission rules (``Allow``/``Disallow``) are
Scrapy's business (``ROBOTSTXT_OBEY``); this module only lists the sitemaps a site
advertises so discovery can start from them when a source names none.
"""

from __future__ import annotations

import logging
import re

from crawler.discovery.urls import resolve_url

__all__ = ["MAX_ROBOTS_CHARS", "MAX_ROBOTS_SITEMAPS", "sitemaps_from_robots"]

logger = logging.getLogger(__name__)

MAX_ROBOTS_CHARS = 512 * 1024
"""Only this much of a robots.txt is read (Google reads 500 KiB)."""

MAX_ROBOTS_SITEMAPS = 50_000
"""Default cap on the sitemaps taken from one robots.txt (as many as a sitemap index may
list); in practice the 512 KiB read cap comes first."""

# "Sitemap: URL", and like Google's parser also "Sitemap URL" (colon forgotten)
_SITEMAP_LINE = re.compile(r"\s*site-?map\s*(?::|\s)\s*(?P<url>.*)", re.IGNORECASE)


def sitemaps_from_robots(
    text: str, base_url: str, *, max_sitemaps: int = MAX_ROBOTS_SITEMAPS
) -> tuple[str, ...]:
    """The sitemap URLs a robots.txt advertises, in order, de-duplicated.

    ``Sitemap:`` is matched case-insensitively (also without its colon), comments are
    dropped, relative URLs are resolved against ``base_url`` (the robots.txt URL or the
    site root) and anything that is not a followable http(s) URL is skipped. At most
    ``max_sitemaps`` are returned; a warning says when more were listed, or when the
    file is longer than `MAX_ROBOTS_CHARS` and its end was not read.
    """
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    if len(text) > MAX_ROBOTS_CHARS:
        logger.warning(
            "robots.txt at %s is longer than %d characters; the rest is not read",
            base_url,
            MAX_ROBOTS_CHARS,
        )
    text = text[:MAX_ROBOTS_CHARS].lstrip("\ufeff")
    found: dict[str, None] = {}
    for raw_line in text.splitlines():
        match = _SITEMAP_LINE.match(raw_line.split("#", 1)[0])
        if match is None:
            continue
        url = resolve_url(match.group("url"), base_url)
        if url is None or url in found:
            continue
        if len(found) >= max_sitemaps:
            logger.warning(
                "robots.txt at %s lists more than %d sitemaps; the rest are ignored",
                base_url,
                max_sitemaps,
            )
            break
        found[url] = None
    return tuple(found)
