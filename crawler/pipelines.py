"""Item pipelines: extraction in a process pool, storage in batches off the reactor.

`ExtractPipeline` sends each `FetchedPage` to a process pool running the pure
`extract_article` and replaces it with `ExtractedArticle` or `Rejected`.
`StorePipeline` buffers articles and failures and writes them in one transaction per
batch from a single database thread; a batch that cannot be written is spooled to
``<data_dir>/spool`` so no extracted record is lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crawler import spool
from crawler.extraction.record import ArticleRecord, Rejection
from crawler.items import ExtractedArticle, FetchedPage, FetchFailed, Rejected
from crawler.workers import extract_timed, warm_up
from storage import db, repository
from storage.repository import FailureRow, StoredArticle, StoredPage

logger = logging.getLogger(__name__)


class _SharedPool:
    """One process pool per crawler process, shared by the crawls running in it."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None
        self._users = 0
        self._workers = 0

    def acquire(self, workers: int) -> ProcessPoolExecutor:
        if self._pool is None:
            self._workers = workers
            self._pool = self._new()
        self._users += 1
        return self._pool

    def _new(self) -> ProcessPoolExecutor:
        # forkserver: workers do not inherit the reactor's threads and sockets.
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["crawler.workers"])
        return ProcessPoolExecutor(max_workers=self._workers, mp_context=ctx, initializer=warm_up)

    def replace_broken(self, broken: Executor) -> ProcessPoolExecutor:
        """After a worker died: a fresh pool (once per broken pool)."""
        if self._pool is broken or self._pool is None:
            logger.error("an extraction worker died; starting a new process pool")
            self._pool = self._new()
        return self._pool

    def release(self) -> None:
        self._users -= 1
        if self._users <= 0 and self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
            self._users = 0


_POOL = _SharedPool()


class ExtractPipeline:
    """Turns fetched pages into records (or rejections) in a process pool."""

    def __init__(self, stats: StatsCollector, workers: int) -> None:
        self.stats = stats
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ExtractPipeline:
        workers = crawler.settings.getint("NEWSINGEST_EXTRACT_WORKERS", os.cpu_count() or 1)
        assert crawler.stats is not None
        return cls(crawler.stats, max(0, workers))

    async def open_spider(self) -> None:
        if self.workers > 0:
            self._pool = _POOL.acquire(self.workers)

    async def close_spider(self) -> None:
        if self._pool is not None:
            _POOL.release()
            self._pool = None

    async def process_item(self, item: Any) -> Any:
        if not isinstance(item, FetchedPage):
            return item
        try:
            result, millis = await self._run(item)
        except Exception as exc:  # a crashed worker or an unpicklable result
            logger.exception("extraction failed for %s", item.final_url)
            result = Rejection(url=item.final_url, reason="parse_error", detail=repr(exc)[:500])
            millis = 0.0
        self.stats.inc_value("newsingest/extract/pages")
        self.stats.inc_value("newsingest/extract/ms_total", int(millis))
        if isinstance(result, Rejection):
            self.stats.inc_value(f"newsingest/extract/rejected/{result.reason}")
            return Rejected(page=item, rejection=result)
        self.stats.inc_value("newsingest/extract/articles")
        return ExtractedArticle(page=item, record=replace(result, fetched_at=item.fetched_at))

    async def _run(self, page: FetchedPage) -> tuple[ArticleRecord | Rejection, float]:
        if self._pool is None:
            return extract_timed(page.body, page.final_url, page.hints)
        try:
            fut = self._pool.submit(extract_timed, page.body, page.final_url, page.hints)
            return await asyncio.wrap_future(fut)
        except BrokenProcessPool:
            self._pool = _POOL.replace_broken(self._pool)
            raise


class StorePipeline:
    """Writes articles, pages and failures in batches, one transaction per batch."""

    def __init__(
        self,
        stats: StatsCollector,
        database_url: str | None,
        data_dir: Path,
        batch_size: int = 100,
        flush_seconds: float = 2.0,
    ) -> None:
        self.stats = stats
        self.database_url = database_url
        self.data_dir = data_dir
        self.batch_size = max(1, batch_size)
        self.flush_seconds = flush_seconds
        self._articles: list[ExtractedArticle] = []
        self._failures: list[FetchFailed | Rejected] = []
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsingest-db")
        self._ticker: asyncio.Task[None] | None = None
        self._source_ids: dict[str, int | None] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StorePipeline:
        s = crawler.settings
        if not s.getbool("NEWSINGEST_STORE_ENABLED", True):
            raise NotConfigured("NEWSINGEST_STORE_ENABLED is off")
        assert crawler.stats is not None
        return cls(
            crawler.stats,
            s.get("NEWSINGEST_DATABASE_URL") or None,
            Path(s.get("NEWSINGEST_DATA_DIR")),
            batch_size=s.getint("NEWSINGEST_STORE_BATCH_SIZE", 100),
            flush_seconds=s.getfloat("NEWSINGEST_STORE_FLUSH_SECONDS", 2.0),
        )

    async def open_spider(self) -> None:
        loop = asyncio.get_running_loop()
        url = await loop.run_in_executor(
            self._db_thread, db.resolve_url, self.database_url, self.data_dir
        )
        self._engine = db.make_engine(url, pool_size=2)
        self._sessions = db.make_session_factory(self._engine)
        self._ticker = asyncio.ensure_future(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            await self._flush()

    async def close_spider(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        await self._flush()
        if self._engine is not None:
            self._engine.dispose()
        self._db_thread.shutdown(wait=True)

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, ExtractedArticle):
            self._articles.append(item)
        elif isinstance(item, (Rejected, FetchFailed)):
            self._failures.append(item)
        else:
            return item
        if len(self._articles) + len(self._failures) >= self.batch_size:
            await self._flush()
        return item

    async def _flush(self) -> None:
        articles, self._articles = self._articles, []
        failures, self._failures = self._failures, []
        if not articles and not failures:
            return
        run_id = self.stats.get_value("newsingest/run_id")
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self._db_thread, self._write, articles, failures, run_id
            )
        except Exception as exc:
            logger.error(
                "could not store a batch of %d articles and %d failures: %s; spooling it",
                len(articles),
                len(failures),
                exc,
            )
            path = spool.write_batch(self.data_dir, articles, failures, run_id, str(exc))
            self.stats.inc_value("newsingest/store/spooled_articles", len(articles))
            self.stats.inc_value("newsingest/store/spooled_failures", len(failures))
            self.stats.set_value("newsingest/store/last_error", str(exc)[:500])
            logger.warning("spooled to %s", path)
            return
        self.stats.inc_value("newsingest/store/inserted", result.inserted)
        self.stats.inc_value("newsingest/store/updated", result.updated)
        self.stats.inc_value("newsingest/store/unchanged", result.unchanged)
        self.stats.inc_value("newsingest/store/merged", result.merged)
        self.stats.inc_value("newsingest/store/failures", len(failures))
        self.stats.inc_value("newsingest/store/batches")

    def _write(
        self,
        articles: list[ExtractedArticle],
        failures: list[FetchFailed | Rejected],
        run_id: int | None,
    ) -> repository.UpsertResult:
        """Runs on the database thread: one transaction for the whole batch."""
        assert self._sessions is not None
        with db.transaction(self._sessions) as session:
            stored = [
                StoredArticle(
                    record=a.record,
                    source_id=self._source_id(session, a.page.source_key),
                    page=StoredPage(
                        requested_url=a.page.requested_url,
                        final_url=a.page.final_url,
                        status=a.page.status,
                        content_type=a.page.content_type,
                        html=a.page.body,
                        fetched_at=a.page.fetched_at,
                    ),
                    run_id=run_id,
                )
                for a in articles
            ]
            result = repository.upsert_articles(session, stored)
            repository.insert_failures(
                session, [self._failure_row(session, f, run_id) for f in failures]
            )
        return result

    def _source_id(self, session: Session, key: str) -> int | None:
        if key not in self._source_ids:
            self._source_ids[key] = repository.source_id(session, key)
        return self._source_ids[key]

    def _failure_row(
        self, session: Session, item: FetchFailed | Rejected, run_id: int | None
    ) -> FailureRow:
        if isinstance(item, Rejected):
            return FailureRow(
                url=item.page.final_url,
                stage="extract",
                reason=item.rejection.reason,
                status=item.page.status,
                detail=item.rejection.detail or None,
                source_id=self._source_id(session, item.page.source_key),
                run_id=run_id,
            )
        return FailureRow(
            url=item.url,
            stage=item.stage,
            reason=item.reason,
            status=item.status,
            detail=item.detail,
            source_id=self._source_id(session, item.source_key),
            run_id=run_id,
        )
