"""`StorePipeline`: storage in batches off the reactor.

It buffers articles and failures and writes them in one transaction per batch from a
single database thread (`storage.writes.write_entries`). A batch the database cannot
take because it is unreachable goes to the local spool (`crawler.spool`); the spool is
written to the database at the next successful flush and when the crawl closes. When the
spool cannot be written either (disk full), the crawl stops (close reason
``spool_failed``) and the batch is kept in memory for a last attempt at close.

Once this process's crawls stored ``NEWSINGEST_SEARCH_MERGE_ARTICLES`` new or changed
articles, the pipeline that counts the last of them merges the search index's pending
list (`storage.writes.merge_search_index`) in a transaction of its own, on a thread and
connection of its own, so that no batch's insert has to and no batch waits for it: the
merge grows with the index, the batches do not (issue 24; docs/performance.md). One
merge runs at a time in the process; the close waits for it and merges what is left.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import _schedule_coro
from sqlalchemy.orm import Session, sessionmaker

from crawler import spool
from crawler import stats as stat
from crawler.crawldb import CrawlDatabase
from crawler.extensions.ledger import run_opened
from crawler.items import ExtractedArticle, FetchFailed, Rejected
from storage import db, pagestore
from storage.articles import StoredArticle
from storage.failures import FailureRow
from storage.pages import StoredPage
from storage.writes import (
    PendingArticle,
    PendingFailure,
    is_transient_db_error,
    merge_search_index,
    write_entries,
)

logger = logging.getLogger(__name__)


class _SearchMergeCount:
    """New and changed articles this process stored since its last merge of the search
    index's pending list, and whether a merge runs: the list is the index's, so every
    crawl of the process counts into it (they all run on the reactor's thread)."""

    stored = 0
    running = False


_since_merge = _SearchMergeCount()


class StorePipeline:
    """Writes articles, pages and failures in batches, one transaction per batch."""

    def __init__(
        self,
        stats: StatsCollector,
        database: CrawlDatabase,
        *,
        batch_size: int,
        flush_seconds: float,
        search_merge_articles: int,
        stop: Callable[[str], None] | None = None,
        page_writer: pagestore.WarcPageWriter | None = None,
    ) -> None:
        self.stats = stats
        self.database = database
        self.data_dir = database.data_dir
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self.stop = stop
        self.page_writer = page_writer
        """Raw pages go to its WARC files (``NEWSINGEST_PAGE_STORE=warc``); None: to
        ``pages.html_zlib``."""
        self.search_merge_articles = search_merge_articles
        """Merge the search index's pending list after this many stored articles (0: never)."""
        self._articles: list[PendingArticle] = []
        self._failures: list[PendingFailure] = []
        self._sessions: sessionmaker[Session] | None = None
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsingest-db")
        self._merge_thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="newsingest-search-merge"
        )
        self._merging: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopping = False
        self._outage_batches = 0
        self.run_id: int | None = None
        """The ``crawl_runs`` row the records belong to (`crawler.extensions.ledger.run_opened`);
        None without a ledger, or when it could not open its run."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        s = crawler.settings
        if not s.getbool("NEWSINGEST_STORE_ENABLED"):
            raise NotConfigured("NEWSINGEST_STORE_ENABLED is off")
        assert crawler.stats is not None

        def stop(reason: str) -> None:
            if crawler.engine is not None and crawler.engine.spider is not None:
                _schedule_coro(crawler.engine.close_spider_async(reason=reason))

        pipe = cls(
            crawler.stats,
            CrawlDatabase.of(crawler),
            batch_size=s.getint("NEWSINGEST_STORE_BATCH_SIZE"),
            flush_seconds=s.getfloat("NEWSINGEST_STORE_FLUSH_SECONDS"),
            stop=stop,
            page_writer=_page_writer(s.get("NEWSINGEST_PAGE_STORE"), s),
            search_merge_articles=s.getint("NEWSINGEST_SEARCH_MERGE_ARTICLES"),
        )
        crawler.signals.connect(pipe.run_opened, signal=run_opened)
        return pipe

    def run_opened(self, run_id: int) -> None:
        self.run_id = run_id

    async def open_spider(self) -> None:
        loop = asyncio.get_running_loop()
        engine = await loop.run_in_executor(self._db_thread, self.database.engine)
        self._sessions = db.make_session_factory(engine)
        self._ticker = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                # shielded: cancelling the ticker at close must not abandon a batch
                # half-way (written but not counted, or failed but not spooled)
                await asyncio.shield(self._flush())
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("periodic flush failed")

    async def close_spider(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await self._flush(closing=True)
        if self._merging is not None:
            await self._merging
            await self._merge_search_index()  # what the batches stored meanwhile
            await self._merging
        self._merge_thread.shutdown(wait=True)
        lost_articles, lost_failures = len(self._articles), len(self._failures)
        if lost_articles or lost_failures:
            self.stats.set_value(stat.STORE_LOST_ARTICLES, lost_articles)
            self.stats.set_value(stat.STORE_LOST_FAILURES, lost_failures)
            logger.critical(
                "%d articles and %d failures could be neither stored nor spooled; they are "
                "lost (the articles are not stored, so the next crawl fetches them again): %s",
                lost_articles,
                lost_failures,
                ", ".join(a.article.record.url for a in self._articles[:10]),
            )
        self._db_thread.shutdown(wait=True)

    async def process_item(self, item: Any) -> Any:
        run_id = self.run_id
        if isinstance(item, ExtractedArticle):
            self._articles.append(_pending_article(item, run_id))
        elif isinstance(item, (Rejected, FetchFailed)):
            self._failures.append(_pending_failure(item, run_id))
        else:
            return item
        if len(self._articles) + len(self._failures) >= self.batch_size and not self._stopping:
            await self._flush()
        return item

    async def _flush(self, *, closing: bool = False) -> None:
        async with self._lock:
            articles, self._articles = self._articles, []
            failures, self._failures = self._failures, []
            if (articles or failures) and not await self._store(articles, failures):
                return
            if articles or failures or closing:
                await self._replay()
            await self._merge_search_index()

    async def _store(self, articles: list[PendingArticle], failures: list[PendingFailure]) -> bool:
        """Write a batch, or spool it; False when the database could not take it."""
        assert self._sessions is not None
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self._db_thread,
                partial(write_entries, page_writer=self.page_writer),
                self._sessions,
                articles,
                failures,
            )
        except Exception as exc:
            if not is_transient_db_error(exc):
                logger.exception("unexpected error storing a batch; spooling it")
            await self._spool(articles, failures, exc)
            return False
        if result.unresolved:  # the source is not registered: keep them in the spool
            kept_articles = [e for e in result.unresolved if isinstance(e, PendingArticle)]
            kept_failures = [e for e in result.unresolved if isinstance(e, PendingFailure)]
            await self._spool(
                kept_articles, kept_failures, LookupError("the source is not registered")
            )
        if self._outage_batches:
            logger.warning(
                "the database answers again (%d batches were spooled meanwhile)",
                self._outage_batches,
            )
            self._outage_batches = 0
        _since_merge.stored += result.upsert.inserted + result.upsert.updated
        s = self.stats
        s.inc_value(stat.STORE_INSERTED, result.upsert.inserted)
        s.inc_value(stat.STORE_UPDATED, result.upsert.updated)
        s.inc_value(stat.STORE_UNCHANGED, result.upsert.unchanged)
        s.inc_value(stat.STORE_MERGED, result.upsert.merged)
        s.inc_value(stat.STORE_FAILURES, result.failures)
        if result.rejected:
            s.inc_value(stat.STORE_REJECTED, result.rejected)
        if result.foreign:
            s.inc_value(stat.STORE_OTHER_SOURCE, result.foreign)
        s.inc_value(stat.STORE_BATCHES)
        return True

    async def _merge_search_index(self) -> None:
        """Start a merge of the search index's pending list when this process stored enough
        since its last one and none runs; the batches go on meanwhile."""
        if (
            not self.search_merge_articles
            or _since_merge.stored < self.search_merge_articles
            or _since_merge.running
        ):
            return
        assert self._sessions is not None
        _since_merge.stored = 0
        _since_merge.running = True
        self._merging = asyncio.ensure_future(self._merge(self._sessions))

    async def _merge(self, sessions: sessionmaker[Session]) -> None:
        loop = asyncio.get_running_loop()
        try:
            pages = await loop.run_in_executor(self._merge_thread, merge_search_index, sessions)
        except Exception as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            if is_transient_db_error(exc):  # the database is away: merged after the next count
                logger.info("could not merge the search index's pending list (%s)", first_line)
                return
            # e.g. a role that does not own the index: the inserts merge it, as before
            self.search_merge_articles = 0
            logger.warning(
                "could not merge the search index's pending list (%s: %s); this crawl "
                "leaves it to the inserts and autovacuum",
                type(exc).__name__,
                first_line,
            )
            return
        finally:
            _since_merge.running = False
        self.stats.inc_value(stat.STORE_SEARCH_MERGES)
        self.stats.inc_value(stat.STORE_SEARCH_MERGED_PAGES, pages)

    async def _spool(
        self, articles: list[PendingArticle], failures: list[PendingFailure], exc: BaseException
    ) -> None:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        self._outage_batches += 1
        # one ERROR per outage, not one per batch; the end of the outage is logged too
        logger.log(
            logging.ERROR if self._outage_batches == 1 else logging.INFO,
            "could not store a batch of %d articles and %d failures (%s: %s); spooling "
            "batches under %s until the database answers again",
            len(articles),
            len(failures),
            type(exc).__name__,
            first_line,
            spool.spool_dir(self.data_dir),
        )
        self.stats.set_value(stat.STORE_LAST_ERROR, str(exc)[:500])
        entries: list[spool.Entry] = [*articles, *failures]
        isolated: list[tuple[spool.Entry, str]] = []
        loop = asyncio.get_running_loop()
        try:
            path = await loop.run_in_executor(
                self._db_thread,
                spool.write_batch,
                self.data_dir,
                entries,
                f"{type(exc).__name__}: {exc}",
                isolated,
            )
        except Exception as raised:  # SpoolError, or anything else: the batch stays
            err = (
                raised
                if isinstance(raised, spool.SpoolError)
                else spool.SpoolError(f"{type(raised).__name__}: {raised}")
            )
            self._articles[:0] = articles
            self._failures[:0] = failures
            self.stats.set_value(stat.STORE_SPOOL_ERROR, str(err)[:500])
            if not self._stopping:
                self._stopping = True
                logger.critical(
                    "the database is unreachable and the spool cannot be written (%s); "
                    "stopping the crawl. %d articles and %d failures are kept in memory "
                    "for a last attempt when the crawl closes",
                    err,
                    len(self._articles),
                    len(self._failures),
                )
                if self.stop is not None:
                    self.stop("spool_failed")
            return
        bad_articles = sum(isinstance(e, PendingArticle) for e, _ in isolated)
        if bad_articles:
            # spooled as store failures: their URLs are recorded, the next crawl fetches them
            self.stats.inc_value(stat.STORE_REJECTED, bad_articles)
        self.stats.inc_value(stat.STORE_SPOOLED_ARTICLES, len(articles) - bad_articles)
        self.stats.inc_value(stat.STORE_SPOOLED_FAILURES, len(failures) + bad_articles)
        self.stats.inc_value(stat.STORE_SPOOLED_TOTAL_ARTICLES, len(articles) - bad_articles)
        self.stats.inc_value(stat.STORE_SPOOL_FILES)
        logger.info("spooled to %s", path)

    async def _replay(self) -> None:
        """Write pending spool files (ours and other crawls') now that the database answers."""
        assert self._sessions is not None
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(self._db_thread, spool.pending, self.data_dir):
            return
        try:
            report = await loop.run_in_executor(
                self._db_thread, spool.replay, self.data_dir, self._sessions, self.page_writer
            )
        except Exception as exc:
            logger.warning("spool replay failed (%s); it stays pending", exc)
            return
        run_id = self.run_id
        arts, fails = report.by_run.get(run_id, (0, 0)) if run_id is not None else (0, 0)
        if arts or fails:
            # this crawl's own spooled records are stored now: no longer pending
            self.stats.inc_value(stat.STORE_SPOOLED_ARTICLES, -arts)
            self.stats.inc_value(stat.STORE_SPOOLED_FAILURES, -fails)
        self.stats.inc_value(stat.STORE_REPLAYED_FILES, report.files)
        self.stats.inc_value(stat.STORE_REPLAYED_ARTICLES, report.articles)
        self.stats.inc_value(stat.STORE_REPLAYED_FAILURES, report.failures)
        if report.files:
            logger.warning(
                "replayed %d spool file(s): %d articles, %d failures",
                report.files,
                report.articles,
                report.failures,
            )


def _page_writer(store: str, settings: Any) -> pagestore.WarcPageWriter | None:
    """The WARC page writer of this process for ``NEWSINGEST_PAGE_STORE=warc``, else None."""
    store = str(store).strip().lower()
    if store not in pagestore.PAGE_STORES:
        raise ValueError(
            f"NEWSINGEST_PAGE_STORE={store!r} must be one of {', '.join(pagestore.PAGE_STORES)}"
        )
    if store != "warc":
        return None
    from importlib.metadata import version

    return pagestore.page_writer(
        Path(settings.get("NEWSINGEST_PAGE_WARC_DIR")),
        settings.getint("NEWSINGEST_PAGE_WARC_MAX_BYTES"),
        software=f"newsingest/{version('newsingest')}",
    )


def _pending_article(item: ExtractedArticle, run_id: int | None) -> PendingArticle:
    page = item.page
    return PendingArticle(
        source_key=page.source_key,
        article=StoredArticle(
            record=item.record,
            source_id=None,
            page=StoredPage(
                requested_url=page.requested_url,
                final_url=page.final_url,
                status=page.status,
                content_type=page.content_type,
                html=page.body,
                fetched_at=page.fetched_at,
                headers=page.headers,
            ),
            run_id=run_id,
        ),
    )


def _pending_failure(item: FetchFailed | Rejected, run_id: int | None) -> PendingFailure:
    if isinstance(item, Rejected):
        return PendingFailure(
            source_key=item.page.source_key,
            failure=FailureRow(
                url=item.page.final_url,
                stage="extract",
                reason=item.rejection.reason,
                status=item.page.status,
                detail=item.rejection.detail or None,
                run_id=run_id,
            ),
        )
    return PendingFailure(
        source_key=item.source_key,
        failure=FailureRow(
            url=item.url,
            stage=item.stage,
            reason=item.reason,
            status=item.status,
            detail=item.detail,
            run_id=run_id,
        ),
    )
