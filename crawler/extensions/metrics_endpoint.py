"""Serve ``/metrics`` on a loopback port while this process crawls (``NEWSINGEST_METRICS_PORT``).

`MetricsEndpoint` is a Scrapy extension, off unless the setting is a port: the first
crawl of a process (``newsingest crawl``, ``newsingest worker``, ``scrapy crawl``) starts
one HTTP server on ``127.0.0.1:PORT`` (``prometheus_client.start_http_server``, a daemon
thread), which stays up until the process exits. Each scrape reads what ``newsingest
metrics`` prints (`crawler.cli.metrics.collect`: every enabled source of the crawl's
sources file) and adds this process's running crawls: ``newsingest_crawl_running``,
``newsingest_crawl_pages`` and ``newsingest_crawl_pages_per_second`` per source, and
``newsingest_metrics_up`` (0 when the database could not be read; the crawl goes on).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.spiders import Spider

from crawler import stats as stat
from crawler.health import Thresholds

logger = logging.getLogger(__name__)


class _Endpoint:
    """The process's one server and the crawls it reports on."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.server: Any = None
        self.port = 0
        self.crawls: dict[int, tuple[str, Crawler, float]] = {}
        self.database_url: str | None = None
        self.sources_path: Path | None = None
        self.data_dir: Path | None = None
        self.thresholds: Thresholds | None = None

    def collect(self) -> Iterator[Any]:
        """Metric families for one scrape (``prometheus_client`` collector protocol)."""
        from prometheus_client import CollectorRegistry, Gauge

        from crawler.cli.metrics import NAMESPACE

        up = 1
        try:
            yield from self._database_metrics()
        except Exception as exc:  # the crawl must not suffer from a scrape
            logger.warning("metrics: could not read the database: %s", exc)
            up = 0
        reg = CollectorRegistry(auto_describe=True)
        Gauge(
            "metrics_up",
            "1 when this scrape could read the database",
            namespace=NAMESPACE,
            registry=reg,
        ).set(up)
        labels = ["source"]
        running = Gauge(
            "crawl_running",
            "1 per source this process is crawling",
            labels,
            namespace=NAMESPACE,
            registry=reg,
        )
        pages = Gauge(
            "crawl_pages",
            "Article pages fetched so far by this process's running crawl",
            labels,
            namespace=NAMESPACE,
            registry=reg,
        )
        rate = Gauge(
            "crawl_pages_per_second",
            "Article pages fetched per second since the running crawl started",
            labels,
            namespace=NAMESPACE,
            registry=reg,
        )
        with self.lock:
            crawls = list(self.crawls.values())
        now = time.monotonic()
        for key, crawler, started in crawls:
            value = crawler.stats.get_value(stat.FETCH_ARTICLES) if crawler.stats else 0
            fetched = int(value or 0)
            running.labels(key).set(1)
            pages.labels(key).set(fetched)
            rate.labels(key).set(fetched / max(now - started, 1e-3))
        yield from reg.collect()

    def describe(self) -> list[Any]:
        return []  # collect() reads the database: never at registration

    def _database_metrics(self) -> Iterator[Any]:
        from crawler.cli.metrics import collect
        from crawler.sources import load_sources
        from storage import db

        assert self.sources_path is not None and self.data_dir is not None
        assert self.thresholds is not None
        url = db.resolve_url(self.database_url, self.data_dir)
        sources = [s for s in load_sources(self.sources_path) if s.enabled]
        registry = collect(url, sources, self.data_dir, self.thresholds, datetime.now(UTC))
        yield from registry.collect()

    def start(self, port: int) -> bool:
        """Start the server once per process; False when the port cannot be bound."""
        from prometheus_client import CollectorRegistry, start_http_server

        with self.lock:
            if self.server is not None:
                return True
            registry = CollectorRegistry(auto_describe=False)
            registry.register(self)
            try:
                self.server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
            except OSError as exc:
                logger.error("metrics: cannot serve on 127.0.0.1:%d: %s", port, exc)
                return False
            self.port = port
            logger.info("metrics: serving http://127.0.0.1:%d/metrics", port)
            return True


ENDPOINT = _Endpoint()


class MetricsEndpoint:
    """Starts `ENDPOINT` with the first crawl of the process and registers each crawl."""

    def __init__(self, crawler: Crawler, port: int) -> None:
        self.crawler = crawler
        self.port = port

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MetricsEndpoint:
        s = crawler.settings
        port = s.getint("NEWSINGEST_METRICS_PORT")
        if not port:
            raise NotConfigured  # without a message: Scrapy logs one as a WARNING
        with ENDPOINT.lock:
            if ENDPOINT.sources_path is None:
                ENDPOINT.database_url = s.get("NEWSINGEST_DATABASE_URL") or None
                ENDPOINT.sources_path = Path(s.get("NEWSINGEST_SOURCES"))
                ENDPOINT.data_dir = Path(s.get("NEWSINGEST_DATA_DIR"))
                ENDPOINT.thresholds = Thresholds(
                    field_drop=s.getfloat("NEWSINGEST_HEALTH_FIELD_DROP"),
                    rejection_rise=s.getfloat("NEWSINGEST_HEALTH_REJECTION_RISE"),
                    words_ratio=s.getfloat("NEWSINGEST_HEALTH_WORDS_RATIO"),
                    min_records=s.getint("NEWSINGEST_HEALTH_MIN_RECORDS"),
                    baseline_days=s.getint("NEWSINGEST_HEALTH_BASELINE_DAYS"),
                )
        ext = cls(crawler, port)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        ENDPOINT.start(self.port)
        key = str(getattr(spider, "source_key", None) or spider.name)
        with ENDPOINT.lock:
            ENDPOINT.crawls[id(self.crawler)] = (key, self.crawler, time.monotonic())

    def spider_closed(self, spider: Spider) -> None:
        with ENDPOINT.lock:
            ENDPOINT.crawls.pop(id(self.crawler), None)
