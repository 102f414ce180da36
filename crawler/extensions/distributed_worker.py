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


class DistributedWorker:
    """One worker of a distributed crawl: heartbeat, idle policy, and the crawl's end.

    Switched on by ``NEWSINGEST_CRAWL_ID`` (set by ``crawl --distributed`` and
    ``newsingest worker``). The spider stays open while the shared queue is empty for
    up to ``NEWSINGEST_WORKER_IDLE_SECONDS``, since other workers may still add requests;
    the last worker to leave a crawl with nothing queued ends it in Redis.
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

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DistributedWorker:
        s = crawler.settings
        crawl_id, redis_url = s.get("NEWSINGEST_CRAWL_ID"), s.get("NEWSINGEST_REDIS_URL")
        if not crawl_id or not redis_url:
            raise NotConfigured
        ext = cls(redis_url, crawl_id, s.getfloat("NEWSINGEST_WORKER_IDLE_SECONDS"))
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        from crawler import distributed

        self.source_key = getattr(spider, "source_key", None) or "?"
        self._client = distributed.connect(self.redis_url)
        distributed.heartbeat(self._client, self.crawl_id, self.worker_id)
        self._beat = asyncio.ensure_future(self._heartbeats())

    async def _heartbeats(self) -> None:
        from crawler import distributed

        while True:
            await asyncio.sleep(distributed.HEARTBEAT_SECONDS)
            try:
                distributed.heartbeat(self._client, self.crawl_id, self.worker_id)
            except Exception as exc:  # Redis down: the queue is gone too; log and go on
                logger.warning("heartbeat to Redis failed: %s", exc)

    def spider_idle(self, spider: Spider) -> None:
        from crawler import distributed

        now = time.monotonic()
        if distributed.pending(self._client, self.crawl_id) > 0:
            self._idle_since = None
            raise DontCloseSpider("requests are queued")
        if self._idle_since is None:
            self._idle_since = now
        if now - self._idle_since < self.idle_seconds:
            raise DontCloseSpider("waiting for other workers' requests")

    def spider_closed(self, spider: Spider) -> None:
        from crawler import distributed

        if self._beat is not None:
            self._beat.cancel()
        if self._client is None:
            return
        try:
            ended = distributed.leave(self._client, self.crawl_id, self.source_key, self.worker_id)
        except Exception as exc:
            logger.warning("could not leave distributed crawl %s: %s", self.crawl_id, exc)
            return
        if ended:
            logger.info("last worker out: distributed crawl %s ended", self.crawl_id)
