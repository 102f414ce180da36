"""Downloader middlewares: the already-stored URL filter and the redirect guard.

`StoredUrlFilter` makes crawls incremental: an article request whose URL is stored
(as canonical, requested or final URL) is dropped before download unless a refresh is
asked for. The lookup runs in a thread, never on the reactor.

`RedirectGuard` turns redirect loops and redirects that leave the source's domains into
errors the spider records (Scrapy would drop both silently: the duplicate filter eats
the loop, the off-site filter the redirect).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urljoin

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from sqlalchemy import Engine

from crawler.exceptions import AlreadyStored, OffsiteRedirect, RedirectLoop
from crawler.extraction.urls import canonicalize_url
from storage import db, repository

logger = logging.getLogger(__name__)


class StoredUrlFilter:
    """Drops article requests for URLs already in the database."""

    def __init__(self, stats: StatsCollector, database_url: str | None, data_dir: Path) -> None:
        self.stats = stats
        self.database_url = database_url
        self.data_dir = data_dir
        self._engine: Engine | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StoredUrlFilter:
        s = crawler.settings
        if s.getbool("NEWSINGEST_REFRESH") or not s.getbool("NEWSINGEST_STORE_ENABLED", True):
            raise NotConfigured("refresh asked for, or storage off")
        assert crawler.stats is not None
        return cls(
            crawler.stats, s.get("NEWSINGEST_DATABASE_URL") or None, Path(s["NEWSINGEST_DATA_DIR"])
        )

    async def process_request(self, request: Request) -> None:
        if request.meta.get("newsingest_kind") != "article":
            return None
        urls = list(dict.fromkeys([request.url, canonicalize_url(request.url)]))
        try:
            found = await asyncio.to_thread(self._lookup, urls)
        except Exception as exc:  # the database being down must not stop fetching
            logger.warning("stored-URL check failed (%s); fetching %s anyway", exc, request.url)
            self.stats.inc_value("newsingest/incremental/check_failed")
            return None
        if found:
            self.stats.inc_value("newsingest/incremental/skipped_stored")
            raise AlreadyStored(f"already stored: {request.url}")
        return None

    def _lookup(self, urls: list[str]) -> bool:
        if self._engine is None:
            self._engine = db.make_engine(
                db.resolve_url(self.database_url, self.data_dir), pool_size=2
            )
        with db.make_session_factory(self._engine)() as session:
            return bool(repository.stored_urls(session, urls))


class RedirectGuard:
    """Raises `RedirectLoop` / `OffsiteRedirect` for redirects Scrapy would drop silently."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RedirectGuard:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not 300 <= response.status < 400 or b"Location" not in response.headers:
            return response
        location = (response.headers.get(b"Location") or b"").decode("latin-1")
        target = urljoin(request.url, location.strip())
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if target in chain:
            raise RedirectLoop(f"redirect loop: {' -> '.join([*chain, target])}")
        source = getattr(self.crawler.spider, "source", None)
        if source is not None and not source.allows_domain(target):
            raise OffsiteRedirect(f"redirect leaves the source's domains: {target}")
        return response
