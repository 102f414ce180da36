"""WarcCheckpoints: damage reports survive the close of an ingest."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from crawler.archive import Damage
from crawler.extensions.warc_checkpoints import Snapshot, WarcCheckpoints
from crawler.spiders.warc import DamageReport, FileProgress, WarcSpider


def _report(offset: int) -> DamageReport:
    damage = Damage(offset, offset + 10, "bad_length", "Content-Length does not match")
    return DamageReport("archive.warc.gz", damage, None)


def test_reports_a_write_took_are_stored_when_the_close_cancels_it_while_queued() -> None:
    """A periodic write still waiting for an executor thread when the spider closes:
    its reports reach the store (they were lost once in CI under load)."""
    stored: list[DamageReport] = []
    busy = threading.Event()

    def store(points: Snapshot, done: tuple[str, ...], damaged: list[DamageReport]) -> None:
        stored.extend(damaged)

    async def ingest() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=1))
        spider: Any = object.__new__(WarcSpider)
        spider.damaged = [_report(100)]
        spider.files = {}
        crawler: Any = SimpleNamespace(spider=spider)
        stats: Any = SimpleNamespace()
        ext = WarcCheckpoints(crawler, stats, None, Path("."), interval=0.01)
        ext._store = store  # type: ignore[method-assign]
        ext._sessions = object()  # type: ignore[assignment]
        # the only executor thread is busy: the tick's store waits in the queue
        blocker = loop.run_in_executor(None, busy.wait)
        ext._ticker = asyncio.ensure_future(ext._tick())
        while spider.damaged:  # the tick has taken the report and queued its store
            await asyncio.sleep(0.005)
        closing = asyncio.ensure_future(ext.spider_closed(spider, "finished"))
        await asyncio.sleep(0.05)  # the close cancels the ticker while its store waits
        busy.set()
        await blocker
        await closing

    asyncio.run(ingest())
    assert [r.damage.offset for r in stored] == [100]


class _Progress(FileProgress):
    """A file read to its end whose second snapshot (the second tick's) sets ``ticked``."""

    __slots__ = ("calls", "ticked")
    calls: int
    ticked: asyncio.Event

    def safe(self) -> tuple[int, int]:
        self.calls += 1
        if self.calls == 2:
            self.ticked.set()
        return super().safe()


def test_a_periodic_write_begun_at_the_close_does_not_overwrite_the_last_checkpoints() -> None:
    """The close came between a tick's snapshot and its write's first step: the write then
    ran after the close's and stored the file as not done."""
    writes: list[tuple[Snapshot, tuple[str, ...]]] = []

    def store(points: Snapshot, done: tuple[str, ...], damaged: list[DamageReport]) -> None:
        writes.append((points, done))

    async def ingest() -> None:
        progress = _Progress("archive.warc.gz", 500, 7, finished=True)
        progress.calls = 0
        progress.ticked = asyncio.Event()
        spider: Any = object.__new__(WarcSpider)
        spider.damaged = []
        spider.files = {progress.location: progress}
        crawler: Any = SimpleNamespace(spider=spider)
        ext = WarcCheckpoints(crawler, SimpleNamespace(), None, Path("."), interval=0.001)  # type: ignore[arg-type]
        ext._store = store  # type: ignore[method-assign]
        ext._sessions = object()  # type: ignore[assignment]
        ext._ticker = asyncio.ensure_future(ext._tick())
        await progress.ticked.wait()  # woken before the tick's write takes its first step
        await ext.spider_closed(spider, "finished")

    asyncio.run(ingest())
    assert writes[-1] == ({"archive.warc.gz": (500, 7)}, ("archive.warc.gz",))
