"""Distributed crawls on scrapy-redis: the crawl registry in Redis and per-crawl settings.
(Distributed archive ingests are `crawler.distributed_warc`'s.)

A distributed crawl of a source has an id. Its requests live in one shared scrapy-redis
queue and duplicate filter (keys named after the crawl id), which every worker process
(on any machine) reads from; all of them store into the same PostgreSQL. Redis holds:

- ``newsingest:crawls``: hash crawl id -> JSON ``{"source": key, "started_at": ...}`` of
  the crawls workers may join;
- ``newsingest:source:<key>:crawl``: the running distributed crawl of a source, so a
  second ``crawl --distributed`` of it joins that crawl instead of starting another;
- ``newsingest:crawl:<id>:workers``: hash worker id -> last heartbeat (unix seconds);
- ``newsingest:crawl:<id>:requests`` / ``:dupefilter``: scrapy-redis' queue and filter.

scrapy-redis pops requests destructively: a worker killed mid-request loses the requests
it held (at most its in-flight requests). Those URLs are not stored, so the next crawl of
the source discovers them again.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

logger = logging.getLogger(__name__)

REGISTRY = "newsingest:crawls"
HEARTBEAT_SECONDS = 5.0
"""How often a worker refreshes its heartbeat."""
DEAD_AFTER_SECONDS = 30.0
"""A worker whose heartbeat is older than this is considered gone."""


def connect(url: str) -> redis.Redis:
    """A Redis client for ``url`` (``redis://host:port/db``)."""
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)


def text_of(value: Any) -> str:
    """A Redis reply (bytes or not) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def claim_key(source_key: str) -> str:
    return f"newsingest:source:{source_key}:crawl"


def queue_key(crawl_id: str) -> str:
    return f"newsingest:crawl:{crawl_id}:requests"


def dupefilter_key(crawl_id: str) -> str:
    return f"newsingest:crawl:{crawl_id}:dupefilter"


def workers_key(crawl_id: str) -> str:
    return f"newsingest:crawl:{crawl_id}:workers"


@dataclass(frozen=True, slots=True)
class Crawl:
    """A distributed crawl workers can join."""

    crawl_id: str
    source_key: str
    started_at: str


def start_or_join(client: redis.Redis, source_key: str) -> tuple[Crawl, bool]:
    """The running distributed crawl of a source, or a new one (True when new)."""
    crawl_id = uuid.uuid4().hex[:16]
    if client.set(claim_key(source_key), crawl_id, nx=True):
        crawl = Crawl(crawl_id, source_key, datetime.now(UTC).isoformat(timespec="seconds"))
        client.hset(
            REGISTRY,
            crawl_id,
            json.dumps({"source": source_key, "started_at": crawl.started_at}),
        )
        return crawl, True
    existing: Any = client.get(claim_key(source_key))
    found = active(client).get(text_of(existing) if existing else "")
    if found is None:  # a claim without registry entry: stale, take it over
        client.delete(claim_key(source_key))
        return start_or_join(client, source_key)
    if not pending(client, found.crawl_id) and not live_workers(client, found.crawl_id):
        finish(client, found.crawl_id, source_key)  # its workers died: start afresh
        return start_or_join(client, source_key)
    return found, False


def active(client: redis.Redis) -> dict[str, Crawl]:
    """Crawls workers may join, by id."""
    out: dict[str, Crawl] = {}
    raw: dict[Any, Any] = client.hgetall(REGISTRY)
    for key, value in raw.items():
        info = json.loads(value)
        crawl_id = text_of(key)
        out[crawl_id] = Crawl(crawl_id, info["source"], info.get("started_at", ""))
    return out


def pending(client: redis.Redis, crawl_id: str) -> int:
    """Requests waiting in a crawl's queue (scrapy-redis' priority queue is a sorted set)."""
    return int(client.zcard(queue_key(crawl_id)))


def heartbeat(client: redis.Redis, crawl_id: str, worker_id: str) -> None:
    client.hset(workers_key(crawl_id), worker_id, str(time.time()))


def live_workers(client: redis.Redis, crawl_id: str, now: float | None = None) -> list[str]:
    """Workers of a crawl whose heartbeat is fresh."""
    now = time.time() if now is None else now
    raw: dict[Any, Any] = client.hgetall(workers_key(crawl_id))
    return [text_of(w) for w, ts in raw.items() if now - float(ts) < DEAD_AFTER_SECONDS]


def leave(client: redis.Redis, crawl_id: str, source_key: str, worker_id: str) -> bool:
    """A worker leaves a crawl; the last one out, with nothing queued, ends it.

    Returns True when the crawl was ended (its keys deleted and its claim released).
    """
    client.hdel(workers_key(crawl_id), worker_id)
    if live_workers(client, crawl_id) or pending(client, crawl_id):
        return False
    finish(client, crawl_id, source_key)
    return True


def finish(client: redis.Redis, crawl_id: str, source_key: str) -> None:
    """Forget a crawl: registry entry, queue, filter, workers, and the source's claim."""
    client.hdel(REGISTRY, crawl_id)
    client.delete(queue_key(crawl_id), dupefilter_key(crawl_id), workers_key(crawl_id))
    current: Any = client.get(claim_key(source_key))
    if current is not None and text_of(current) == crawl_id:
        client.delete(claim_key(source_key))
    logger.info("distributed crawl %s of %s ended", crawl_id, source_key)


def crawl_settings(
    redis_url: str, crawl_id: str, idle_seconds: float | None = None
) -> dict[str, Any]:
    """Scrapy settings that make one crawler a worker of distributed crawl ``crawl_id``
    (``idle_seconds`` None: ``NEWSINGEST_WORKER_IDLE_SECONDS`` as the settings have it)."""
    idle = {} if idle_seconds is None else {"NEWSINGEST_WORKER_IDLE_SECONDS": idle_seconds}
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        # scrapy-redis 0.9.1 crashes at start on Scrapy >= 2.14 unless this is set too
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_PERSIST": True,  # a closing worker must not flush the shared queue
        # requests travel as JSON data, never pickle: writing to Redis runs no code
        "SCHEDULER_SERIALIZER": "crawler.requestcodec",
        "SCHEDULER_QUEUE_CLASS": "crawler.requestcodec.SafePriorityQueue",
        "SCHEDULER_QUEUE_KEY": queue_key(crawl_id),
        "SCHEDULER_DUPEFILTER_KEY": dupefilter_key(crawl_id),
        "REDIS_URL": redis_url,
        "NEWSINGEST_REDIS_URL": redis_url,
        "NEWSINGEST_CRAWL_ID": crawl_id,
        **idle,
    }
