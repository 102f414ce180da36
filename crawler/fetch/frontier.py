"""The crawl frontier on disk: a Scrapy scheduler whose pending requests wait in files.

A sitemap of 50,000 URLs puts 50,000 requests in the scheduler at once; Scrapy's memory
queues would hold them all (about 1 KB each with their callbacks, headers and hints), so
a crawl's memory would grow with the size of its sources. `DiskFrontierScheduler` gives
Scrapy's own scheduler a disk queue in a private folder under the data directory
(``<data dir>/frontier/<pid>-<random>``) even without ``JOBDIR``, and removes the folder
when the crawl closes: nothing is resumed from it. Folders left by a crawl that was killed
are removed by the next crawl once their process is gone.

A data directory where the folder cannot be created (read-only, full) leaves the
pending requests in memory, with a warning. A disk that refuses a write (full, or over
a file size limit) does not stop the crawl either:
that request and every later one wait in memory, and the requests already on disk are
still read back. If they cannot be read any more, the crawl goes on without them and
logs how many were lost (stat ``newsingest/frontier/lost``); they were not fetched, so
the next crawl discovers them again.

With ``JOBDIR`` set, the scheduler is Scrapy's own (a resumable job folder is kept).
``NEWSINGEST_DISK_FRONTIER = False`` keeps the pending requests in memory. Distributed
crawls replace the scheduler with scrapy-redis's (the frontier lives in Redis).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Self

from scrapy import Request
from scrapy.core.scheduler import Scheduler
from scrapy.crawler import Crawler
from scrapy.dupefilters import BaseDupeFilter
from scrapy.utils.job import job_dir
from scrapy.utils.misc import build_from_crawler, load_object
from twisted.internet.defer import Deferred

from crawler import stats as stat
from crawler.pids import pid_alive

logger = logging.getLogger(__name__)

FRONTIER_FOLDER = "frontier"
"""Folder under the data directory that holds the crawls' frontier folders."""


def remove_stale(parent: Path) -> list[Path]:
    """Remove frontier folders (``<pid>-...``) whose process is gone; return them."""
    removed: list[Path] = []
    if not parent.is_dir():
        return removed
    for folder in parent.iterdir():
        pid_text = folder.name.split("-", 1)[0]
        if not folder.is_dir() or not pid_text.isdigit():
            continue
        pid = int(pid_text)
        if pid == os.getpid() or pid_alive(pid):
            continue  # a crawl that runs (in this process: it removes its own)
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


class DiskFrontierScheduler(Scheduler):
    """Scrapy's scheduler with its disk queue in a private, temporary folder."""

    def __init__(
        self, dupefilter: BaseDupeFilter, *, frontier_dir: Path | None = None, **kwargs: Any
    ) -> None:
        jobdir = kwargs.pop("jobdir", None)
        self.frontier_dir = frontier_dir
        """The private folder (removed at close); None: Scrapy's behaviour (``jobdir``)."""
        self.disk_failed = False
        """True once the disk refused a write: new requests wait in memory."""
        super().__init__(dupefilter, jobdir=str(frontier_dir) if frontier_dir else jobdir, **kwargs)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        s = crawler.settings
        jobdir = job_dir(s)
        frontier_dir: Path | None = None
        if jobdir is None and s.getbool("NEWSINGEST_DISK_FRONTIER"):
            parent = Path(s["NEWSINGEST_DATA_DIR"]) / FRONTIER_FOLDER
            try:
                parent.mkdir(parents=True, exist_ok=True)
                for folder in remove_stale(parent):
                    logger.info("removed the frontier folder %s of a crawl that is gone", folder)
                frontier_dir = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent))
            except OSError as exc:  # read-only or full data directory: the crawl still runs
                logger.warning(
                    "cannot create a frontier folder under %s (%s); "
                    "pending requests wait in memory",
                    parent,
                    exc,
                )
                if crawler.stats is not None:
                    crawler.stats.inc_value(stat.FRONTIER_DISK_ERRORS)
        return cls(
            build_from_crawler(load_object(s["DUPEFILTER_CLASS"]), crawler),
            frontier_dir=frontier_dir,
            jobdir=jobdir,
            dqclass=load_object(s["SCHEDULER_DISK_QUEUE"]),
            mqclass=load_object(s["SCHEDULER_MEMORY_QUEUE"]),
            logunser=s.getbool("SCHEDULER_DEBUG"),
            stats=crawler.stats,
            pqclass=load_object(s["SCHEDULER_PRIORITY_QUEUE"]),
            crawler=crawler,
        )

    def _dqpush(self, request: Request) -> bool:
        if self.disk_failed:
            return False
        try:
            return super()._dqpush(request)
        except OSError as exc:
            self.disk_failed = True
            self._inc(stat.FRONTIER_DISK_ERRORS)
            logger.error(
                "the crawl frontier cannot write to %s (%s): pending requests wait in memory",
                self.dqdir,
                exc,
            )
            return False

    def _dqpop(self) -> Request | None:
        if self.dqs is None:
            return None
        try:
            return super()._dqpop()
        except Exception as exc:  # a refused read, or a record torn by a refused write
            queues, self.dqs = self.dqs, None
            lost = 0
            with contextlib.suppress(Exception):
                lost = len(queues)
            with contextlib.suppress(Exception):
                queues.close()
            self._inc(stat.FRONTIER_LOST, lost)
            logger.error(
                "the crawl frontier lost %d pending requests it could not read back from %s"
                " (%s); the crawl goes on without them",
                lost,
                self.dqdir,
                exc,
            )
            return None

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def close(self, reason: str) -> Deferred[None] | None:
        try:
            return super().close(reason)
        except OSError as exc:  # the disk queue's state could not be written: not needed
            logger.error("the crawl frontier could not close its disk queue: %s", exc)
            return self.df.close(reason)
        finally:
            if self.frontier_dir is not None:
                with contextlib.suppress(OSError):
                    shutil.rmtree(self.frontier_dir)
