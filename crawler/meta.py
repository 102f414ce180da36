"""The keys newsingest puts in a request's ``meta``, and their values, named once.

The spider sets them; the middlewares, the frontier and the Redis request codec read
them. Scrapy's own meta keys (``redirect_urls``, ``dont_retry``, ``proxy``, …) keep
Scrapy's names. Requests of distributed crawls carry their meta through Redis as JSON
(`crawler.requestcodec`), so these strings are a wire format: renaming one breaks the
requests already queued.

Pure: no Scrapy.
"""

from __future__ import annotations

from typing import Final

KIND: Final = "newsingest_kind"
"""What the request fetches: `ARTICLE` or `DISCOVERY`."""
ARTICLE: Final = "article"
DISCOVERY: Final = "discovery"
"""A robots.txt, sitemap, feed or listing page."""

HINTS: Final = "newsingest_hints"
"""An article request's `crawler.extraction.Hints` (what discovery knew of the page)."""

DEPTH: Final = "newsingest_depth"
"""How many pagination pages led to a listing page."""

CONDITIONAL: Final = "newsingest_conditional"
"""True: a discovery request that may be asked conditionally (If-None-Match,
If-Modified-Since; `crawler.middlewares.conditional.ConditionalRequests`)."""

NO_VALIDATORS: Final = "newsingest_no_validators"
"""Set on a sitemap index's response: its validators are not remembered (its children
may change on their own)."""

ROBOTS_TXT: Final = "newsingest_robots_txt"
"""The spider's robots.txt request: answered by `crawler.middlewares.robots.SharedRobotsTxt`
with the response it downloaded for the robots.txt rules (one download, not two)."""

CHECKED: Final = "newsingest_checked_url"
"""The URL `crawler.middlewares.stored_urls.StoredUrlBatchFilter` checked against the database:
the request is not checked again unless a redirect changed its URL."""
