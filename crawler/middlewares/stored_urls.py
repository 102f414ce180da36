"""The already-stored URL filters: `StoredUrlBatchFilter` and `StoredUrlFilter`.

`StoredUrlBatchFilter` (spider middleware) and `StoredUrlFilter` (downloader
middleware) make crawls incremental: an article request whose URL is stored (as
canonical, requested or final URL) is dropped before download unless a refresh is
asked for. Discovery's requests are checked in batches as they leave the spider; the
downloader filter checks what reaches it unchecked. Lookups run in a thread, never on
the reactor.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any, Self

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.settings import Settings
from scrapy.statscollectors import StatsCollector

from crawler import stats as stat
from crawler.crawldb import CrawlDatabase
from crawler.exceptions import AlreadyStored
from crawler.extraction.urls import canonicalize_url
from crawler.meta import ARTICLE, CHECKED, KIND
from storage import articles, db

logger = logging.getLogger(__name__)


class _StoredUrls:
    """The stored-URL lookup shared by both filters: one query for many URLs, in a thread.

    ``lookup`` answers which of some URLs are stored; by default the crawl's database's
    `storage.articles.stored_urls` (tests give a stand-in).
    """

    def __init__(
        self,
        stats: StatsCollector,
        database: CrawlDatabase,
        lookup: Callable[[list[str]], set[str]] | None = None,
    ) -> None:
        self.stats = stats
        self.database = database
        self.lookup = lookup or self._stored_in_database

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        if s.getbool("NEWSINGEST_REFRESH") or not s.getbool("NEWSINGEST_STORE_ENABLED"):
            raise NotConfigured
        assert crawler.stats is not None
        mw = cls(crawler.stats, CrawlDatabase.of(crawler))
        mw.configure(s)
        return mw

    def configure(self, settings: Settings) -> None:
        """Read the settings of the subclass (after `__init__`)."""

    @staticmethod
    def candidates(url: str) -> list[str]:
        """The forms of ``url`` that count as stored: as requested, and canonical."""
        return list(dict.fromkeys([url, canonicalize_url(url)]))

    def _stored_in_database(self, urls: list[str]) -> set[str]:
        with db.make_session_factory(self.database.engine())() as session:
            return articles.stored_urls(session, urls)

    async def stored(self, urls: list[str]) -> set[str]:
        """Those of ``urls`` already stored (one query, off the reactor)."""
        return await asyncio.to_thread(self.lookup, urls)


class StoredUrlBatchFilter(_StoredUrls):
    """Spider middleware: drops the article requests of a callback whose URL is stored.

    Article requests leaving a discovery callback (a sitemap lists up to 50,000) are
    checked ``NEWSINGEST_STORED_CHECK_BATCH`` at a time with one query each, instead of
    one query per request: a re-crawl of an unchanged site costs a few queries per
    sitemap. Requests let through carry the checked URL in their meta (`CHECKED`), so
    the downloader filter does not ask again. The check runs before Scrapy's duplicate
    filter: ``newsingest/incremental/skipped_stored`` counts a stored URL once per time
    discovery yields it (found in a sitemap and on a listing page: twice).

    A batch's requests are alive until its query returns, in every sitemap response
    being processed at once (all the children of a sitemap index arrive together): with
    20 sitemaps of 1,000 URLs the main process's peak resident memory was 204-211 MB with
    batches of 500, 193 with 100, 186 with 25. Batches of 50 cost a re-crawl 20 queries
    per 1,000 URLs.
    """

    batch_size = 50

    def configure(self, settings: Settings) -> None:
        self.batch_size = max(1, settings.getint("NEWSINGEST_STORED_CHECK_BATCH"))

    async def process_spider_output(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        batch: list[Request] = []
        async for out in result:
            if (
                isinstance(out, Request)
                and out.meta.get(KIND) == ARTICLE
                and out.meta.get(CHECKED) != out.url
            ):
                batch.append(out)
                if len(batch) >= self.batch_size:
                    for request in await self.filter(batch):
                        yield request
                    batch = []
            else:
                yield out
        if batch:
            for request in await self.filter(batch):
                yield request

    async def filter(self, requests: list[Request]) -> list[Request]:
        """The requests whose URL is not stored, marked as checked."""
        forms = {r.url: self.candidates(r.url) for r in requests}
        try:
            found = await self.stored(list(dict.fromkeys(u for fs in forms.values() for u in fs)))
        except Exception as exc:  # the database being down must not stop fetching
            logger.warning(
                "stored-URL check of %d requests failed (%s); fetching them anyway",
                len(requests),
                exc,
            )
            self.stats.inc_value(stat.INCREMENTAL_CHECK_FAILED, len(requests))
            found = set()
        kept: list[Request] = []
        for request in requests:
            if found.intersection(forms[request.url]):
                self.stats.inc_value(stat.INCREMENTAL_SKIPPED_STORED)
                continue
            request.meta[CHECKED] = request.url
            kept.append(request)
        return kept


class StoredUrlFilter(_StoredUrls):
    """Downloader middleware: drops an article request whose URL is stored.

    Only requests `StoredUrlBatchFilter` did not check for their current URL reach the
    database here (one query each): the new URL of a redirect, requests made elsewhere.
    """

    async def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get(KIND) != ARTICLE or meta.get(CHECKED) == request.url:
            return None
        try:
            found = await self.stored(self.candidates(request.url))
        except Exception as exc:  # the database being down must not stop fetching
            logger.warning("stored-URL check failed (%s); fetching %s anyway", exc, request.url)
            self.stats.inc_value(stat.INCREMENTAL_CHECK_FAILED)
            return None
        if found:
            self.stats.inc_value(stat.INCREMENTAL_SKIPPED_STORED)
            raise AlreadyStored(f"already stored: {request.url}")
        meta[CHECKED] = request.url
        return None
