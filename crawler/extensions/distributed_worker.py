"""`DistributedWorker`: one worker of a distributed crawl (heartbeat, idle policy, the
crawl's end in Redis).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider, NotConfigured

logger = logging.getLogger(__name__)

READING_FRESH_SECONDS = 10.0
"""A reading of the queue's length older than this is not used: Scrapy calls an idle
spider's ``spider_idle`` every 5 seconds, so an older one was taken before the spider's
last work."""


class DistributedWorker:
    """One worker of a distributed crawl: heartbeat, idle policy, and the crawl's end.

    Switched on by ``NEWSINGEST_CRAWL_ID`` (set by ``crawl --distributed`` and
    ``newsingest worker``). The spider stays open while the shared queue is empty for
    up to ``NEWSINGEST_WORKER_IDLE_SECONDS``, since other workers may still add requests;
    the last worker to leave a crawl with nothing queued ends it in Redis.

    Redis is called in threads, never on the reactor's: a slow or unreachable Redis
    delays this worker's heartbeat and idle decisions, not the crawl's downloads.
    """

    def __init__(self, redis_url: str, crawl_id: str, idle_seconds: float) -> None:
        self.redis_url = redis_url
        self.crawl_id = crawl_id
        self.idle_seconds = idle_seconds
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.source_key = "?"
        self._client: Any = None
        self._idle_since: float | None = None
        self._beat: asyncio.Task[None] | None = None
        self._pending: int | None = None
        """The queue's length at the last reading (None: not read yet)."""
        self._checking: asyncio.Future[None] | None = None
        self._asked_at = 0.0
        """When that reading was asked for (the spider was idle then)."""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedWorker:
        s = crawler.settings
        crawl_id, redis_url = s.get("NEWSINGEST_CRAWL_ID"), s.get("NEWSINGEST_REDIS_URL")
        if not crawl_id or not redis_url:
            raise NotConfigured
        if getattr(crawler.spidercls, "archive_ingest", False):
            raise NotConfigured  # a file of a distributed ingest: the worker holds its lease
        ext = cls(redis_url, crawl_id, s.getfloat("NEWSINGEST_WORKER_IDLE_SECONDS"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    async def spider_opened(self, spider: Spider) -> None:
        from crawler import distributed

        self.source_key = getattr(spider, "source_key", None) or "?"
        self._client = distributed.connect(self.redis_url)  # connects on its first command
        await asyncio.to_thread(distributed.heartbeat, self._client, self.crawl_id, self.worker_id)
        self._beat = asyncio.ensure_future(self._heartbeats())

    async def _heartbeats(self) -> None:
        from crawler import distributed

        while True:
            await asyncio.sleep(distributed.HEARTBEAT_SECONDS)
            try:
                await asyncio.to_thread(
                    distributed.heartbeat, self._client, self.crawl_id, self.worker_id
                )
            except Exception as exc:  # Redis down: the queue is gone too; log and go on
                logger.warning("heartbeat to Redis failed: %s", exc)

    def spider_idle(self, spider: Spider) -> None:
        """Keep the spider open while requests are queued, then ``idle_seconds`` more.

        Scrapy asks again every few seconds while the spider is idle, and wants the
        answer at once (`DontCloseSpider` raised here), so the queue's length is read in
        a thread (`_check_pending`) and each call answers from the last reading: none
        yet (or none fresh), or requests queued, keeps the spider open.
        """
        now = time.monotonic()
        pending, asked = self._pending, self._asked_at
        if now - asked > READING_FRESH_SECONDS:  # asked before the spider last had work
            pending, self._idle_since = None, None
        if self._checking is None:
            self._asked_at = now
            self._checking = asyncio.ensure_future(self._check_pending())
        if pending is None:
            raise DontCloseSpider("asking Redis for the queue's length")
        if pending > 0:
            self._idle_since = None
            raise DontCloseSpider("requests are queued")
        if self._idle_since is None:
            self._idle_since = asked  # idle, and nothing queued, since it was asked
        if now - self._idle_since < self.idle_seconds:
            raise DontCloseSpider("waiting for other workers' requests")

    async def _check_pending(self) -> None:
        from crawler import distributed

        try:
            self._pending = await asyncio.to_thread(
                distributed.pending, self._client, self.crawl_id
            )
        except Exception as exc:  # Redis down: the queue is gone too; idle on
            logger.warning("cannot read the queue's length from Redis: %s", exc)
            self._pending = 0
        finally:
            self._checking = None

    async def spider_closed(self, spider: Spider) -> None:
        from crawler import distributed

        if self._beat is not None:
            self._beat.cancel()
        if self._client is None:
            return
        if self._checking is not None:
            await self._checking  # a reading in flight ends before the worker leaves
        try:
            ended = await asyncio.to_thread(
                distributed.leave, self._client, self.crawl_id, self.source_key, self.worker_id
            )
        except Exception as exc:
            logger.warning("could not leave distributed crawl %s: %s", self.crawl_id, exc)
            return
        if ended:
            logger.info("last worker out: distributed crawl %s ended", self.crawl_id)
