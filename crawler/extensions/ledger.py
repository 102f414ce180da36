"""`CrawlLedger`: the crawl-run ledger, and the signals it sends.

`CrawlLedger` writes a ``crawl_runs`` row when a crawl of a source opens (status
``running``) and finishes it when the spider closes, in every case: ``succeeded``,
``failed`` (with the error) or ``interrupted`` (SIGINT/SIGTERM), with the crawl's stats.
Before opening it applies pending migrations, takes the source's crawl lock, registers
the source and marks runs of this host whose process is gone as ``abandoned``; a crawl
that finds the lock held records a ``skipped`` run naming the holder and closes. While
crawling it checks its lock every ``NEWSINGEST_LOCK_CHECK_SECONDS``: a lock whose
database session ended (a server restart) is taken again when free and the run is still
``running``; when another crawl took it, the crawl stops (close reason `LOCK_LOST`, run
``interrupted``). All database work runs in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.signalmanager import SignalManager
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import _schedule_coro
from sqlalchemy import Connection, Engine

from crawler import spool
from crawler import stats as stat
from crawler.crawldb import CrawlDatabase
from crawler.pids import pid_alive
from storage import db, ledger, locks, migrate, sources
from storage.sources import SourceRow

logger = logging.getLogger(__name__)


def json_stats(stats: dict[str, Any]) -> dict[str, Any]:
    """Scrapy stats made JSON-safe (datetimes as ISO strings)."""
    out: dict[str, Any] = {}
    for key, value in stats.items():
        if isinstance(value, (datetime, date)):
            out[key] = value.isoformat()
        elif isinstance(value, (int, float, str, bool)) or value is None:
            out[key] = value
        else:
            out[key] = str(value)
    return out


run_opened = object()
"""Signal `CrawlLedger` sends once its run's ``crawl_runs`` row exists, with
``run_id``: how the store pipeline learns the run its records belong to (components
do not read each other's stats back)."""


run_closed = object()
"""Signal `CrawlLedger` sends once it knows how its run ended, with ``status``
(``succeeded``, ``failed``, ``interrupted`` or ``skipped``): how the CLI learns each
crawl's outcome (nothing reads it back from the stats)."""


LOCK_LOST = "lock_lost"
"""Close reason of a crawl whose source lock was lost and taken by another crawl."""


SOURCE_LOCKED = "source_locked"
"""Close reason of a crawl skipped because another crawl holds its source's lock."""


def run_status(close_reason: str, stats: dict[str, Any]) -> tuple[str, str | None]:
    """The ledger status of a run from Scrapy's close reason and the crawl's stats."""
    if close_reason == "shutdown":
        return "interrupted", "stopped by signal"
    if close_reason == LOCK_LOST:
        return "interrupted", (
            "the source's lock was lost (its database session ended) and another crawl took it"
        )
    if close_reason != "finished":
        return "failed", f"spider closed: {close_reason}"
    unreadable = stats.get(stat.WARC_FILES_FAILED, 0)
    if unreadable:
        return "failed", f"{unreadable} archive file(s) could not be read"
    if stats.get(stat.DISCOVERY_OK, 0) == 0 and stats.get(stat.DISCOVERY_FAILED):
        return "failed", "none of the source's discovery URLs could be fetched"
    if stats.get(stat.STORE_SPOOLED_ARTICLES):
        return "failed", "some records could not be stored and were spooled"
    return "succeeded", None


def source_row(source: Any) -> SourceRow:
    return SourceRow(
        key=source.key,
        name=source.name,
        url=source.url,
        language=source.language,
        country=source.country,
        enabled=source.enabled,
    )


class CrawlLedger:
    """Keeps ``crawl_runs`` in step with the crawl of one source."""

    def __init__(
        self,
        stats: StatsCollector,
        database: CrawlDatabase,
        trigger: str,
        auto_migrate: bool,
        crawl_id: str | None = None,
        *,
        lock_check_seconds: float,
        stop: Callable[[str], None] | None = None,
        signals: SignalManager | None = None,
    ) -> None:
        self.stats = stats
        self.signals = signals
        self.lock_check_seconds = lock_check_seconds
        self.stop = stop
        self.database = database
        self.data_dir = database.data_dir
        self.trigger = trigger
        self.auto_migrate = auto_migrate
        self.crawl_id = crawl_id
        self.run_id: int | None = None
        self.source_key: str | None = None
        self.kind = "crawl"
        self._url: str | None = None
        self._lock: Connection | None = None
        self._lock_guard = threading.Lock()  # the lock's connection is used by one thread
        self._lock_lost = False
        self._watch: asyncio.Task[None] | None = None
        self._engine: Engine | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlLedger:
        s = crawler.settings
        if not s.getbool("NEWSINGEST_LEDGER_ENABLED"):
            raise NotConfigured
        assert crawler.stats is not None

        def stop(reason: str) -> None:
            if crawler.engine is not None and crawler.engine.spider is not None:
                _schedule_coro(crawler.engine.close_spider_async(reason=reason))

        ext = cls(
            crawler.stats,
            CrawlDatabase.of(crawler),
            trigger=s.get("NEWSINGEST_TRIGGER"),
            auto_migrate=s.getbool("NEWSINGEST_AUTO_MIGRATE"),
            crawl_id=s.get("NEWSINGEST_CRAWL_ID") or None,
            lock_check_seconds=s.getfloat("NEWSINGEST_LOCK_CHECK_SECONDS"),
            stop=stop,
            signals=crawler.signals,
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_opened(self, spider: Spider) -> None:
        source = getattr(spider, "source", None)
        self.source_key = getattr(source, "key", None)
        self.kind = getattr(spider, "run_kind", "crawl")
        if getattr(spider, "_job", None):  # scrapyd passes its job id as spider argument
            self.trigger = "scrapyd"
        try:
            self.run_id = await asyncio.to_thread(self._open, source)
        except Exception as exc:
            logger.error(
                "could not open a crawl_runs row (%s); crawling without one, records are spooled",
                exc,
            )
            return
        if self.run_id is None:
            self.stats.set_value(stat.RUN_STATUS, "skipped")
            self._announce("skipped")
            logger.warning(
                "source %s is being crawled by another process right now; skipping it",
                self.source_key,
            )
            raise CloseSpider(SOURCE_LOCKED)
        self.stats.set_value(stat.RUN_ID, self.run_id)
        if self.signals is not None:
            self.signals.send_catch_log(run_opened, run_id=self.run_id)
        if self._lock is not None and self.lock_check_seconds > 0:
            self._watch = asyncio.ensure_future(self._watch_lock())
        if self.crawl_id:
            self.stats.set_value(stat.CRAWL_ID, self.crawl_id)
        logger.info("crawl run %s opened for source %s", self.run_id, self.source_key)

    def _announce(self, status: str) -> None:
        if self.signals is not None:
            self.signals.send_catch_log(run_closed, status=status)

    def _open(self, source: Any) -> int | None:
        """Runs in a thread: migrate, lock the source, register it, open the run row."""
        self._url = self.database.url()
        if self.auto_migrate and migrate.available():
            migrate.upgrade(self._url)
        self._engine = self.database.engine()
        if self.source_key is not None:
            # Workers of one distributed crawl share the source's lock; any other crawl
            # of the source needs it exclusively.
            self._lock = locks.try_lock_source(
                self._engine, self.source_key, shared=self.crawl_id is not None
            )
            if self._lock is None:
                self._record_skipped(source)
                return None
        with db.transaction(db.make_session_factory(self._engine)) as session:
            source_id = None
            if source is not None:
                source_id = sources.upsert_source(session, source_row(source))
            abandoned = ledger.mark_abandoned(session, socket.gethostname(), pid_alive)
            if source_id is not None and self._lock is not None and self.crawl_id is None:
                # We hold the source's exclusive lock: no live process is crawling it.
                abandoned += ledger.mark_source_runs_abandoned(session, source_id)
            if abandoned:
                logger.warning("marked %d runs whose process is gone as abandoned", abandoned)
            return ledger.start_run(
                session,
                source_id=source_id,
                trigger=self.trigger,
                host=socket.gethostname(),
                pid=os.getpid(),
                crawl_id=self.crawl_id,
                kind=self.kind,
            )

    def _record_skipped(self, source: Any) -> None:
        """Runs in a thread: a ``skipped`` run naming the crawl that holds the lock."""
        assert self._engine is not None
        try:
            with db.transaction(db.make_session_factory(self._engine)) as session:
                source_id = (
                    sources.upsert_source(session, source_row(source))
                    if source is not None
                    else None
                )
                skipped = locks.record_skipped(
                    session,
                    source_id=source_id,
                    trigger=self.trigger,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    crawl_id=self.crawl_id,
                    kind=self.kind,
                )
        except Exception as exc:
            logger.error("could not record the skipped crawl of %s: %s", self.source_key, exc)
            return
        self.stats.set_value(stat.SKIPPED_RUN_ID, skipped)

    async def _watch_lock(self) -> None:
        """Check the source's lock every `lock_check_seconds`; stop the crawl when another
        crawl took it."""
        while True:
            await asyncio.sleep(self.lock_check_seconds)
            try:
                held = await asyncio.to_thread(self._check_lock)
            except Exception as exc:  # a bug here must not end the crawl
                logger.warning("could not check the lock of %s: %s", self.source_key, exc)
                continue
            if held is False:
                self._lock_lost = True
                self.stats.set_value(stat.LOCK_LOST, 1)
                logger.error(
                    "lost the lock of source %s: another crawl holds it now (or ended this "
                    "run); stopping this crawl",
                    self.source_key,
                )
                if self.stop is not None:
                    self.stop(LOCK_LOST)
                return

    def _check_lock(self) -> bool | None:
        """Runs in a thread: True while the lock is held (taken again if its session
        ended and it is free), False once another crawl holds it or this run was ended by
        another process, None while the database cannot be reached (checked again later)."""
        assert self._engine is not None and self.source_key is not None
        with self._lock_guard:
            if self._lock is not None:
                if locks.lock_alive(self._lock):
                    return True
                logger.warning(
                    "the database session holding the lock of source %s ended; taking the "
                    "lock again",
                    self.source_key,
                )
                self._drop_lock()
            try:
                conn = locks.try_lock_source(
                    self._engine, self.source_key, shared=self.crawl_id is not None
                )
            except Exception as exc:
                logger.debug("lock of %s not taken yet: %s", self.source_key, exc)
                return None
            if conn is None:
                return False
            try:
                with db.make_session_factory(self._engine)() as session:
                    assert self.run_id is not None
                    run = ledger.get_run(session, self.run_id)
                    still_running = run is not None and run.status == "running"
            except Exception as exc:
                locks.unlock_source(conn)
                logger.debug("run of %s not checked yet: %s", self.source_key, exc)
                return None
            if not still_running:
                locks.unlock_source(conn)
                return False
            self._lock = conn
        self.stats.inc_value(stat.LOCK_TAKEN_AGAIN)
        logger.warning("took the lock of source %s again", self.source_key)
        return True

    def _drop_lock(self) -> None:
        """Close the lock's connection (call holding `_lock_guard`)."""
        if self._lock is None:
            return
        try:
            locks.unlock_source(self._lock)
        except Exception as exc:  # the lock went with its connection anyway
            logger.debug("could not release the lock of %s: %s", self.source_key, exc)
        self._lock = None

    def _release(self) -> None:
        with self._lock_guard:
            self._drop_lock()

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        if self.run_id is None:
            return
        try:
            await self._finish(reason)
        finally:
            await asyncio.to_thread(self._release)

    async def _finish(self, reason: str) -> None:
        assert self.run_id is not None
        stats = json_stats(self.stats.get_stats())
        status, error = run_status(reason, stats)
        self.stats.set_value(stat.RUN_STATUS, status)
        self._announce(status)
        try:
            await asyncio.to_thread(self._close, self.run_id, status, stats, error)
        except Exception as exc:
            # Database gone at the end: spool the outcome; replay applies it later.
            try:
                path = await asyncio.to_thread(
                    spool.write_run_finish, self.data_dir, self.run_id, status, stats, error
                )
            except spool.SpoolError as spool_exc:
                logger.critical(
                    "run %s ended %s but neither the database (%s) nor the spool (%s) took "
                    "it; the next crawl marks it abandoned",
                    self.run_id,
                    status,
                    exc,
                    spool_exc,
                )
            else:
                logger.error(
                    "could not record the end of run %s (%s); spooled to %s", self.run_id, exc, path
                )
            return
        logger.info("crawl run %s finished: %s", self.run_id, status)

    def _close(self, run_id: int, status: str, stats: dict[str, Any], error: str | None) -> None:
        assert self._engine is not None
        with db.transaction(db.make_session_factory(self._engine)) as session:
            if not ledger.finish_run(session, run_id, status=status, stats=stats, error=error):
                logger.error(
                    "run %s was already finished by another process (its lock was lost, so "
                    "another crawl of the source marked it abandoned); its status stays",
                    run_id,
                )
