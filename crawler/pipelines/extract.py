"""`ExtractPipeline`: extraction of each fetched page in the extraction pool.

It sends each `FetchedPage` to the extraction pool it is given
(`crawler.extractpool`: the process's shared pool, ``NEWSINGEST_EXTRACT_WORKERS``
processes) and replaces it with `ExtractedArticle` or `Rejected`; a page larger than
``NEWSINGEST_EXTRACT_MAX_BYTES`` becomes a `FetchFailed` (``extract``, ``too_large``)
without being parsed (extraction needs ~80 times the HTML size in memory). A page whose
extraction takes longer than ``NEWSINGEST_EXTRACT_TIMEOUT`` seconds, or that crashes a
worker twice, is rejected (``parse_error``); the pool recovers on its own. An exception
of the extraction itself (a bug) is recorded as ``internal_error`` with the exception,
and the crawl goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector

from crawler import stats as stat
from crawler.extraction.record import Rejection
from crawler.extraction.urls import canonicalize_url
from crawler.extractpool import (
    ExtractionPool,
    ExtractionTimedOut,
    WorkerCrashed,
    shared_pool,
)
from crawler.failures import FailureReason
from crawler.items import ExtractedArticle, FetchedPage, FetchFailed, Rejected

logger = logging.getLogger(__name__)


MAX_MEAN_WORD_LENGTH = 40
"""A record whose text averages more characters per word is not prose (a page of one
3.9 MB "word" was stored as an article); German compounds average well under 15."""


class ExtractPipeline:
    """Turns fetched pages into records (or rejections) in the extraction pool it is given."""

    def __init__(
        self,
        stats: StatsCollector,
        pool: ExtractionPool,
        *,
        timeout: float,
        max_bytes: int,
    ) -> None:
        """``timeout`` and ``max_bytes``: ``NEWSINGEST_EXTRACT_TIMEOUT`` and
        ``_MAX_BYTES`` (their defaults are `crawler.settings`', not repeated here)."""
        self.stats = stats
        self.pool = pool
        """Where pages are extracted; opened and closed with the spider."""
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.in_scope: Callable[[str], bool] = lambda url: True
        """Whether a URL is one of the crawled source's articles (its domain, port and
        ``article_urls``); a declared canonical URL that is not keeps the fetched URL."""
        self._open = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        s = crawler.settings
        workers = s.getint("NEWSINGEST_EXTRACT_WORKERS")
        assert crawler.stats is not None
        pipe = cls(
            crawler.stats,
            shared_pool(workers),
            timeout=s.getfloat("NEWSINGEST_EXTRACT_TIMEOUT"),
            max_bytes=s.getint("NEWSINGEST_EXTRACT_MAX_BYTES"),
        )

        def in_scope(url: str) -> bool:
            source = getattr(crawler.spider, "source", None)
            return source is None or bool(source.is_article_url(url))

        pipe.in_scope = in_scope
        return pipe

    async def open_spider(self) -> None:
        self.pool.open()
        self._open = True

    async def close_spider(self) -> None:
        if self._open:
            self.pool.close()
            self._open = False

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        if self.max_bytes and len(item.body) > self.max_bytes:
            # Extraction memory grows ~80x the HTML size: refuse before a worker blows up.
            self.stats.inc_value(stat.rejected(FailureReason.TOO_LARGE))
            return FetchFailed(
                source_key=item.source_key,
                url=item.requested_url,
                stage="extract",
                reason=FailureReason.TOO_LARGE,
                status=item.status,
                detail=f"{len(item.body)} bytes of HTML exceed NEWSINGEST_EXTRACT_MAX_BYTES"
                f" ({self.max_bytes})",
            )
        try:
            result, millis = await self.pool.extract(
                item.body, item.final_url, item.hints, item.content_type, timeout=self.timeout
            )
        except ExtractionTimedOut as exc:
            self.stats.inc_value(stat.EXTRACT_TIMEOUTS)
            result, millis = (
                Rejection(item.final_url, "parse_error", exc.detail),
                exc.timeout * 1000,
            )
        except WorkerCrashed as exc:
            self.stats.inc_value(stat.EXTRACT_WORKER_CRASHES)
            result, millis = Rejection(item.final_url, "parse_error", exc.detail), 0.0
        except Exception as exc:  # the worker function raised, or an unpicklable result: a bug
            logger.exception("extraction failed for %s", item.final_url)
            result = Rejection(item.final_url, "internal_error", repr(exc)[:500])
            millis = 0.0
        self.stats.inc_value(stat.EXTRACT_PAGES)
        self.stats.inc_value(stat.EXTRACT_MS_TOTAL, int(millis))
        if isinstance(result, Rejection):
            self.stats.inc_value(stat.rejected(result.reason))
            return Rejected(page=item, rejection=result)
        if result.word_count and len(result.text) / result.word_count > MAX_MEAN_WORD_LENGTH:
            # megabytes of one "word" (base64, a hash, filler) are not an article
            result = Rejection(
                url=item.final_url,
                reason="not_article",
                detail=f"{len(result.text)} characters in {result.word_count} words: not prose",
            )
            self.stats.inc_value(stat.rejected(result.reason))
            return Rejected(page=item, rejection=result)
        self.stats.inc_value(stat.EXTRACT_ARTICLES)
        record = replace(result, fetched_at=item.fetched_at)
        if record.url != item.final_url and not self.in_scope(record.url):
            # a canonical URL outside the source's scope never names the article
            self.stats.inc_value(stat.EXTRACT_CANONICAL_OUT_OF_SCOPE)
            logger.info("%s declares the canonical URL %s outside its source's scope; kept "
                        "the fetched URL", item.final_url, record.url)  # fmt: skip
            record = replace(record, url=canonicalize_url(item.final_url))
        return ExtractedArticle(page=item, record=record)
