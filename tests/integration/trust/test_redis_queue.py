"""The Redis queue of distributed crawls carries data: a pickle written to it runs nothing."""

from __future__ import annotations

import importlib
import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
from scrapy import Request
from scrapy.utils.misc import load_object

from crawler import distributed
from crawler.extraction.record import Hints
from crawler.spiders.news import NewsSpider


class _Planted:
    """What an attacker queues: unpickling it creates a file (any code could run)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> Any:
        return (Path.touch, (self.path,))


def _queue(url: str, spider: NewsSpider) -> Any:
    """The queue a worker of a distributed crawl uses, from the project's settings."""
    settings = distributed.crawl_settings(url, "t" + str(id(spider)), 1.0)
    cls = load_object(settings.get("SCHEDULER_QUEUE_CLASS", "scrapy_redis.queue.PriorityQueue"))
    serializer = settings.get("SCHEDULER_SERIALIZER")
    module = importlib.import_module(serializer) if serializer else None
    return cls(redis.Redis.from_url(url), spider, settings["SCHEDULER_QUEUE_KEY"], module)


def test_a_pickle_planted_in_the_queue_runs_nothing_and_requests_round_trip(
    redis_url: str, tmp_path: Path
) -> None:
    spider = NewsSpider(source="site")
    queue = _queue(redis_url, spider)
    marker = tmp_path / "pwned"
    client = redis.Redis.from_url(redis_url)
    client.zadd(queue.key, {pickle.dumps(_Planted(marker)): -100})
    hints = Hints(title="T", authors=("A", "B"), published_at=datetime(2026, 3, 1, tzinfo=UTC))
    request = Request(
        "http://127.0.0.1:9/a.html",
        callback=spider.parse_article,
        errback=spider.article_failed,
        meta={"newsingest_kind": "article", "newsingest_hints": hints, "redirect_urls": []},
        headers={"If-None-Match": '"x"'},
        priority=1,
    )
    queue.push(request)
    popped = [queue.pop(), queue.pop()]
    assert not marker.exists()
    assert popped[0] is None  # the planted entry, dropped
    back = popped[1]
    assert back.url == request.url
    assert back.meta["newsingest_hints"] == hints
    assert back.callback == spider.parse_article
    assert back.headers[b"If-None-Match"] == b'"x"'
    assert len(queue) == 0
