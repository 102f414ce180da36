"""WarcCheckpoints: the ledger side of an archive ingest (`crawler.spiders.warc`).

Only for spiders that say ``archive_ingest`` (the ``warc`` spider). Before the first
record it registers the sources of the sources file (records may go to any of them), notes
the run's files in ``warc_files`` and tells the spider where each stands: a file done
before is skipped, a file begun before is read from its checkpoint, skipping the records
after it that the earlier runs stored or recorded as failures (`storage.warc.earlier_work`).

Every ``NEWSINGEST_WARC_CHECKPOINT_SECONDS`` (10 s; at least twice
``NEWSINGEST_STORE_FLUSH_SECONDS``, whatever it is set to) it writes, per file, the offset
before which every record had left the pipelines one period earlier (`FileProgress.safe`):
the store pipeline flushes its batches every ``NEWSINGEST_STORE_FLUSH_SECONDS`` (2 s), so
a record before a written checkpoint is stored (or spooled) even when the process is
killed. (A shorter period let a checkpoint pass records still in an unflushed batch: a
worker killed then lost them.) Damaged stretches of files become ``fetch_failures`` rows
(stage ``fetch``, reason ``warc_<damage>``, the file and offset in the detail) in the
same transaction. When the spider closes (after the pipelines have stored everything)
the checkpoints are written exactly, and files read to their end are marked done.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crawler import stats as stat
from crawler.extensions.ledger import run_opened, source_row
from crawler.failures import FailureReason
from crawler.spiders.warc import DamageReport, Resume, WarcSpider
from storage import db, failures, sources
from storage import warc as warc_store
from storage.failures import FailureRow

logger = logging.getLogger(__name__)

Snapshot = dict[str, tuple[int, int]]


class WarcCheckpoints:
    """Checkpoints and archive failures of one ``warc`` run."""

    def __init__(
        self,
        crawler: Crawler,
        stats: StatsCollector,
        database_url: str | None,
        data_dir: Path,
        interval: float,
    ) -> None:
        self.crawler = crawler
        self.stats = stats
        self.database_url = database_url
        self.data_dir = data_dir
        self.interval = interval
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._source_ids: dict[str, int] = {}
        self._ticker: asyncio.Task[None] | None = None
        self._writing: asyncio.Task[None] | None = None
        """The periodic write last begun (shielded from the ticker's cancellation)."""
        self._lock = asyncio.Lock()
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCheckpoints:
        if not getattr(crawler.spidercls, "archive_ingest", False):
            raise NotConfigured  # silently: every crawl loads the extension
        s = crawler.settings
        if not s.getbool("NEWSINGEST_LEDGER_ENABLED"):
            raise NotConfigured
        assert crawler.stats is not None
        ext = cls(
            crawler,
            crawler.stats,
            s.get("NEWSINGEST_DATABASE_URL") or None,
            Path(s["NEWSINGEST_DATA_DIR"]),
            # a checkpoint is written one period after the records before it left the
            # pipelines: the period must cover the store pipeline's flush (and its commit)
            max(
                s.getfloat("NEWSINGEST_WARC_CHECKPOINT_SECONDS"),
                2 * s.getfloat("NEWSINGEST_STORE_FLUSH_SECONDS"),
            ),
        )
        spider = crawler.spider
        if isinstance(spider, WarcSpider):
            spider.checkpointer = ext
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.run_opened, signal=run_opened)
        return ext

    def run_opened(self, run_id: int) -> None:
        """The ledger opened the run (`crawler.extensions.ledger.run_opened`)."""
        self.run_id = run_id

    @property
    def spider(self) -> WarcSpider:
        spider = self.crawler.spider
        assert isinstance(spider, WarcSpider)
        return spider

    async def prepare(self, files: list[tuple[str, int | None]]) -> dict[str, Resume]:
        """Called by the spider before it reads: where each of ``files`` stands."""
        resume = await asyncio.to_thread(self._prepare, files, self.run_id)
        self._ticker = asyncio.ensure_future(self._tick())
        return resume

    def _prepare(
        self, files: list[tuple[str, int | None]], run_id: int | None
    ) -> dict[str, Resume]:
        url = db.resolve_url(self.database_url, self.data_dir)
        self._engine = db.make_engine(url, pool_size=1)
        self._sessions = db.make_session_factory(self._engine)
        with db.transaction(self._sessions) as session:
            for source in self.spider.sources:
                self._source_ids[source.key] = sources.upsert_source(session, source_row(source))
            points = warc_store.open_files(session, run_id, files)
            out: dict[str, Resume] = {}
            for location, point in points.items():
                if point.done or not point.run_ids or not (point.offset or point.records):
                    out[location] = Resume(point.offset, point.records, point.done)
                    continue
                earlier = warc_store.earlier_work(session, point.run_ids)
                out[location] = Resume(
                    point.offset, point.records, False, earlier.stored, earlier.failed
                )
        return out

    async def _tick(self) -> None:
        previous: Snapshot | None = None
        while True:
            await asyncio.sleep(self.interval)
            current = {loc: p.safe() for loc, p in self.spider.files.items()}
            try:
                # shielded: cancelled at close while its store was still queued for a
                # thread, the write dropped the damage reports it had taken (their rows
                # were lost); now it finishes, and the last write waits for it (the lock)
                self._writing = asyncio.ensure_future(self._write(previous or {}, done=()))
                await asyncio.shield(self._writing)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: written at the next tick
                logger.warning("could not write the ingest's checkpoints: %s", exc)
            previous = current

    async def _write(self, points: Snapshot, done: tuple[str, ...]) -> None:
        async with self._lock:
            damaged, self.spider.damaged = self.spider.damaged, []
            try:
                await asyncio.to_thread(self._store, points, done, damaged)
            except Exception:
                self.spider.damaged[:0] = damaged
                raise

    def _store(self, points: Snapshot, done: tuple[str, ...], damaged: list[DamageReport]) -> None:
        if self._sessions is None or not (points or damaged):
            return
        with db.transaction(self._sessions) as session:
            failures.insert_failures(session, [self._failure(d, self.run_id) for d in damaged])
            for location, (offset, records) in points.items():
                warc_store.save_checkpoint(
                    session, location, offset=offset, records=records, done=location in done
                )
        if damaged:
            self.stats.inc_value(stat.STORE_FAILURES, len(damaged))

    def _failure(self, report: DamageReport, run_id: int | None) -> FailureRow:
        damage = report.damage
        return FailureRow(
            url=damage.url or f"{report.location}#offset={damage.offset}",
            stage="fetch",
            reason=FailureReason(f"warc_{damage.reason}"),
            detail=f"{report.location} at offset {damage.offset}: {damage.detail}",
            source_id=self._source_ids.get(report.source_key) if report.source_key else None,
            run_id=run_id,
        )

    async def spider_closed(self, spider: Spider, reason: str) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        if self._writing is not None:
            # a periodic write begun but not yet run would come after the last one and
            # put its older checkpoints (done=False) over the exact ones
            await asyncio.wait({self._writing})
            if not self._writing.cancelled() and self._writing.exception() is not None:
                logger.warning(
                    "could not write the ingest's checkpoints: %s", self._writing.exception()
                )
        if self._sessions is None:
            return
        files = self.spider.files
        points = {loc: p.safe() for loc, p in files.items()}
        done = tuple(loc for loc, p in files.items() if p.finished and not p.in_flight)
        try:
            await self._write(points, done)
        except Exception as exc:
            logger.error("could not write the ingest's last checkpoints: %s", exc)
        finally:
            if self._engine is not None:
                self._engine.dispose()
