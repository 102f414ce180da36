"""What a request to stop a crawl (SIGTERM, SIGINT, scrapyd's cancel) does: `StopWatch`.

Scrapy's first signal starts a graceful stop: no more requests leave the scheduler, but
before the spider closes, every request already handed to the downloader (queued in a
download slot or transferring) is downloaded and processed, and every callback's output
is consumed to its end. With large discovery (a sitemap index of 20 sitemaps of 50,000
URLs) that meant minutes of queueing URLs that would never be fetched; the run stayed
``running`` meanwhile, and a second signal (or a supervisor's SIGKILL) left it so.

`StopWatch` notices the stop (the crawler stops ``crawling``) and shortens that wait:
the downloader drops its queued requests and cancels its transfers
(`crawler.fetch.downloader.SlotLimitedDownloader.stop`, reason `CrawlStopped`, no failure
rows), callbacks yield no more requests (`crawler.middlewares.stop_filter.StopFilter`), and retry
waits end (`crawler.middlewares.retry.PoliteRetry`). Pages already downloaded still go
through extraction and storage; the run ends ``interrupted``. Nothing is lost for good:
validators are saved only by finished crawls, so the next crawl reads every sitemap and
feed in full and finds the dropped URLs again.

A worker of a distributed crawl keeps Scrapy's behaviour (``NEWSINGEST_CRAWL_ID`` set):
the requests it holds were taken from the shared queue, and dropping them would lose
them for the other workers.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler import stats as stat
from crawler.fetch.downloader import SlotLimitedDownloader

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
"""How often `StopWatch` looks whether the crawl was asked to stop."""


def stop_requested(crawler: Crawler) -> bool:
    """True once the crawl was asked to stop: Scrapy's crawler stops ``crawling`` when
    its graceful stop starts, before the spider closes (call while the spider is open)."""
    return not crawler.crawling


def shortens_stops(crawler: Crawler) -> bool:
    """Whether a stop drops the crawl's pending work (not in a distributed crawl)."""
    return not crawler.settings.get("NEWSINGEST_CRAWL_ID")


class StopWatch:
    """Extension: when the crawl is asked to stop, stop its downloads at once."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> StopWatch:
        if not shortens_stops(crawler):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self._task = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while not stop_requested(self.crawler):
            await asyncio.sleep(POLL_SECONDS)
        self.stop_downloads()

    def stop_downloads(self) -> None:
        """Drop the downloader's queued requests and cancel its transfers."""
        engine = self.crawler.engine
        downloader = getattr(engine, "downloader", None)
        if not isinstance(downloader, SlotLimitedDownloader):
            logger.warning("stop requested; this downloader cannot drop its queued requests")
            return
        queued, transfers = downloader.stop()
        assert self.crawler.stats is not None
        self.crawler.stats.set_value(stat.STOP_DROPPED_REQUESTS, queued)
        self.crawler.stats.set_value(stat.STOP_CANCELLED_DOWNLOADS, transfers)
        logger.warning(
            "stop requested: dropped %d queued requests and cancelled %d downloads; "
            "pages already downloaded are still stored",
            queued,
            transfers,
        )

    def spider_closed(self, spider: Spider) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
