"""`CrawlDatabase`: the one database engine of a crawl, shared by its components.

The ledger, the store pipeline, the stored-URL filters and the conditional requests each
made an engine of their own: one crawl opened five connection pools. They share one now,
made on first use (in whichever thread asks first: resolving the URL may start the
embedded server) and disposed when the crawl's engine stops, after every component's
``spider_closed``. Its pool holds the ledger's lock connection, the store pipeline's
thread and the lookups made in threads at once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import Engine

from storage import db

POOL_SIZE = 5
"""Connections kept: the ledger's lock, its checks, the store pipeline's batches, its
merges of the search index, a lookup (and
`storage.db.make_engine`'s overflow of 2 beyond them)."""


class CrawlDatabase:
    """The database of one crawl: its URL (resolved once) and its one engine."""

    def __init__(self, database_url: str | None, data_dir: Path) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self._url: str | None = None
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, crawler: Crawler) -> CrawlDatabase:
        """The crawler's database, made by the first component that asks."""
        found = crawler.__dict__.get("_newsingest_database")
        if isinstance(found, CrawlDatabase):
            return found
        s = crawler.settings
        made = cls(s.get("NEWSINGEST_DATABASE_URL") or None, Path(s["NEWSINGEST_DATA_DIR"]))
        crawler.__dict__["_newsingest_database"] = made
        crawler.signals.connect(made.dispose, signal=signals.engine_stopped)
        return made

    def url(self) -> str:
        """The database's URL (may start the embedded server: call it in a thread)."""
        with self._lock:
            if self._url is None:
                self._url = db.resolve_url(self.database_url, self.data_dir)
            return self._url

    def engine(self) -> Engine:
        """The crawl's engine, made on first use (call it in a thread)."""
        url = self.url()
        with self._lock:
            if self._engine is None:
                self._engine = db.make_engine(url, pool_size=POOL_SIZE)
            return self._engine

    def dispose(self) -> None:
        """Close the pool's connections (a later use opens new ones)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
