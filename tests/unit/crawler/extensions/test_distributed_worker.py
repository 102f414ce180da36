"""The distributed worker calls Redis in threads, never on the reactor's (the event loop's)."""

from __future__ import annotations

import asyncio
import inspect
import threading
from types import SimpleNamespace
from typing import Any

import pytest
from scrapy.exceptions import DontCloseSpider

from crawler import distributed
from crawler.extensions.distributed_worker import DistributedWorker


class FakeRedis:
    """Stands in for crawler.distributed's Redis calls; notes the thread of each."""

    def __init__(self, queued: int) -> None:
        self.queued = queued
        self.calls: list[tuple[str, int]] = []

    def note(self, name: str) -> None:
        self.calls.append((name, threading.get_ident()))


@pytest.fixture
def redis(monkeypatch: pytest.MonkeyPatch) -> FakeRedis:
    fake = FakeRedis(queued=3)

    def heartbeat(client: Any, crawl_id: str, worker_id: str) -> None:
        fake.note("heartbeat")

    def pending(client: Any, crawl_id: str) -> int:
        fake.note("pending")
        return fake.queued

    def leave(client: Any, crawl_id: str, source_key: str, worker_id: str) -> bool:
        fake.note("leave")
        return True

    monkeypatch.setattr(distributed, "connect", lambda url: object())
    monkeypatch.setattr(distributed, "heartbeat", heartbeat)
    monkeypatch.setattr(distributed, "pending", pending)
    monkeypatch.setattr(distributed, "leave", leave)
    return fake


async def _handled(result: Any) -> None:
    """A signal handler's result, awaited as Scrapy does when it is awaitable."""
    if inspect.isawaitable(result):
        await result


async def _idle_until_it_may_close(ext: DistributedWorker, spider: Any, redis: FakeRedis) -> int:
    """Calls of spider_idle that kept the spider open before it let it close."""
    kept = 0
    while True:
        try:
            ext.spider_idle(spider)
        except DontCloseSpider:
            kept += 1
            await asyncio.sleep(0.05)  # the reading in its thread comes back meanwhile
            if kept == 3:
                redis.queued = 0  # the other workers' requests are done
            assert kept < 100
            continue
        return kept


def test_redis_is_called_off_the_event_loop_thread_and_a_queue_keeps_the_spider_open(
    redis: FakeRedis,
) -> None:
    spider: Any = SimpleNamespace(source_key="s")
    ext = DistributedWorker("redis://127.0.0.1:1", "c1", idle_seconds=0.0)

    async def crawl() -> int:
        await _handled(ext.spider_opened(spider))
        kept = await _idle_until_it_may_close(ext, spider, redis)
        await _handled(ext.spider_closed(spider))
        return kept

    loop_thread = threading.get_ident()
    kept = asyncio.run(crawl())
    names = [name for name, _ in redis.calls]
    assert names[0] == "heartbeat" and "pending" in names and names[-1] == "leave"
    assert all(thread != loop_thread for _, thread in redis.calls), redis.calls
    assert kept >= 3  # open while requests were queued, closed once the queue was empty
