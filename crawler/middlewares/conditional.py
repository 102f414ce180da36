"""`ConditionalRequests`: conditional GETs for discovery URLs (feeds, sitemaps, listings)."""

from __future__ import annotations

import asyncio
import logging

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector

from crawler import stats as stat
from crawler.crawldb import CrawlDatabase
from crawler.failures import is_transient_reason
from crawler.meta import CONDITIONAL, DISCOVERY, KIND, NO_VALIDATORS
from storage import db, url_state

logger = logging.getLogger(__name__)


class ConditionalRequests:
    """Conditional GETs for discovery URLs (feeds, sitemaps, listing pages).

    ETag and Last-Modified of discovery responses are remembered in ``url_state`` when
    the crawl finishes successfully (so a crawl that died half-way asks again in full)
    and sent back as If-None-Match / If-Modified-Since by the next crawl; a 304 reaches
    the spider, which then skips that document. Sitemap indexes are never answered from
    validators: the spider flags them, since their children can change on their own.
    """

    def __init__(self, stats: StatsCollector, database: CrawlDatabase) -> None:
        self.stats = stats
        self.database = database
        self._seen: list[tuple[dict[str, object], url_state.Validators]] = []
        self.refresh = False
        """A refresh (``crawl --refresh``) asks for everything in full and remembers
        the new validators for the next crawl."""
        self.distributed = False
        """A worker of a distributed crawl (``NEWSINGEST_CRAWL_ID``) keeps no validators."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequests:
        s = crawler.settings
        if not s.getbool("NEWSINGEST_CONDITIONAL_REQUESTS") or not s.getbool(
            "NEWSINGEST_STORE_ENABLED"
        ):
            raise NotConfigured
        assert crawler.stats is not None
        mw = cls(crawler.stats, CrawlDatabase.of(crawler))
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        mw.refresh = s.getbool("NEWSINGEST_REFRESH")
        mw.distributed = bool(s.get("NEWSINGEST_CRAWL_ID"))
        return mw

    @staticmethod
    def _key(request: Request) -> str:
        return str((request.meta.get("redirect_urls") or [request.url])[0])

    def _lookup(self, url: str) -> url_state.Validators | None:
        with db.make_session_factory(self.database.engine())() as session:
            return url_state.get_validators(session, [url]).get(url)

    async def process_request(self, request: Request) -> None:
        meta = request.meta
        if meta.get(KIND) != DISCOVERY or not meta.get(CONDITIONAL):
            return None
        if self.refresh:
            return None
        try:
            found = await asyncio.to_thread(self._lookup, self._key(request))
        except Exception as exc:
            logger.warning("validator lookup failed (%s); plain GET of %s", exc, request.url)
            return None
        if found is not None:
            if found.etag:
                request.headers[b"If-None-Match"] = found.etag.encode("latin-1")
            if found.last_modified:
                request.headers[b"If-Modified-Since"] = found.last_modified.encode("latin-1")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        meta = request.meta
        if meta.get(KIND) != DISCOVERY or not meta.get(CONDITIONAL):
            return response
        if response.status == 304:
            self.stats.inc_value(stat.DISCOVERY_NOT_MODIFIED)
            return response
        if response.status == 200:
            etag = response.headers.get(b"ETag")
            modified = response.headers.get(b"Last-Modified")
            if etag or modified:
                self._seen.append(
                    (
                        meta,
                        url_state.Validators(
                            url=self._key(request),
                            etag=etag.decode("latin-1") if etag else None,
                            last_modified=modified.decode("latin-1") if modified else None,
                            status=200,
                        ),
                    )
                )
        return response

    async def spider_closed(self, spider: object, reason: str) -> None:
        keep = [v for meta, v in self._seen if not meta.get(NO_VALIDATORS)]
        if reason != "finished" or not keep:
            return
        if not self.complete(self.stats.get_stats(), distributed=self.distributed):
            logger.info("not remembering validators: this crawl may have missed articles")
            return
        try:
            await asyncio.to_thread(self._save, keep)
            self.stats.inc_value(stat.DISCOVERY_VALIDATORS_SAVED, len(keep))
        except Exception as exc:
            logger.warning("could not remember validators: %s", exc)

    @staticmethod
    def complete(stats: dict[str, object], *, distributed: bool = False) -> bool:
        """Whether a finished crawl saw everything its discovery documents listed.

        Not so when a transient failure (`crawler.failures.is_transient_reason`: a
        timeout, a connection error, HTTP 5xx, 408, 429) may have cost an article, when
        records were spooled, or in a distributed crawl (a worker cannot know what the
        others lost): then the next crawl reads every document in full, so incremental
        discovery finds the missing articles again.
        """
        if distributed or stats.get(stat.STORE_SPOOLED_ARTICLES):
            return False
        failed = stat.reasons(stats, stat.FETCH_FAILED_PREFIX)
        return not any(is_transient_reason(reason) for reason in failed)

    def _save(self, rows: list[url_state.Validators]) -> None:
        with db.transaction(db.make_session_factory(self.database.engine())) as session:
            url_state.save_validators(session, rows)
