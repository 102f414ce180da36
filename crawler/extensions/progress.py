"""`Progress`: the terminal progress line of interactive ``newsingest crawl`` runs."""

from __future__ import annotations

import asyncio
import sys
from typing import Any, ClassVar, TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import _schedule_coro

from crawler import stats as stat


class Progress:
    """Live progress on the terminal for interactive ``newsingest crawl`` runs.

    Off unless ``NEWSINGEST_PROGRESS`` is set (the CLI sets it when stderr is a
    terminal), so scheduled and piped runs print no progress lines. One line per
    refresh covers every crawl running in the process.
    """

    _crawls: ClassVar[dict[str, StatsCollector]] = {}
    _task: ClassVar[asyncio.Task[None] | None] = None

    def __init__(self, stats: StatsCollector, interval: float, stream: TextIO) -> None:
        self.stats = stats
        self.interval = interval
        self.stream = stream
        self.key = "?"

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("NEWSINGEST_PROGRESS"):
            raise NotConfigured
        assert crawler.stats is not None

        def stop(reason: str) -> None:
            if crawler.engine is not None and crawler.engine.spider is not None:
                _schedule_coro(crawler.engine.close_spider_async(reason=reason))

        ext = cls(
            crawler.stats, crawler.settings.getfloat("NEWSINGEST_PROGRESS_SECONDS"), sys.stderr
        )
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.key = getattr(spider, "source_key", None) or spider.name
        Progress._crawls[self.key] = self.stats
        if Progress._task is None:
            Progress._task = asyncio.ensure_future(self._loop())

    def spider_closed(self, spider: Spider) -> None:
        self.stream.write("\r" + self.line() + "\n")
        self.stream.flush()
        Progress._crawls.pop(self.key, None)
        if not Progress._crawls and Progress._task is not None:
            Progress._task.cancel()
            Progress._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.stream.write("\r" + self.line()[:200] + "\x1b[K")
            self.stream.flush()

    @staticmethod
    def describe(key: str, stats: dict[str, Any]) -> str:
        """One source's progress: pages, stored new/updated/unchanged, rejected, failed."""
        return stat.RunSummary.of(stats).progress(key)

    def line(self) -> str:
        return " | ".join(
            self.describe(key, stats.get_stats()) for key, stats in sorted(Progress._crawls.items())
        ) or self.describe(self.key, self.stats.get_stats())
