"""The naive baseline of ``bench/crawl.py``: what a quick Scrapy + trafilatura script does.

A `SitemapSpider` reads the site's sitemaps, extracts every page inline in the callback
(``trafilatura.bare_extraction`` with metadata, then ``langdetect`` on the text) and a
pipeline inserts one row per item, committing each (psycopg, autocommit), into a simple
table. Scrapy's defaults otherwise (``CONCURRENT_ITEMS`` 100, asyncio reactor).

Usage::

    python bench/naive_spider.py --site http://127.0.0.1:PORT --database-url URL [-s NAME=VALUE]

Prints one JSON line with the counts and the crawl's elapsed seconds on stdout. Only
crawls 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg
from langdetect import DetectorFactory, detect
from langdetect.lang_detect_exception import LangDetectException
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.spiders import SitemapSpider
from trafilatura import bare_extraction

DetectorFactory.seed = 0

TABLE = """
CREATE TABLE IF NOT EXISTS naive_articles (
    id bigserial PRIMARY KEY,
    url text UNIQUE NOT NULL,
    title text,
    author text,
    date text,
    language text,
    text text NOT NULL,
    fetched_at timestamptz NOT NULL DEFAULT now()
)
"""


class NaiveSpider(SitemapSpider):
    """Sitemap -> article pages, extraction inline."""

    name = "naive"

    def parse(self, response: Response) -> Iterator[dict[str, Any]]:
        doc = bare_extraction(response.text, url=response.url, with_metadata=True)
        text = getattr(doc, "text", None) if doc is not None else None
        if not text:
            return
        try:
            language: str | None = detect(text)
        except LangDetectException:
            language = None
        yield {
            "url": response.url,
            "title": getattr(doc, "title", None),
            "author": getattr(doc, "author", None),
            "date": getattr(doc, "date", None),
            "language": language,
            "text": text,
        }


class InsertPipeline:
    """One INSERT and one commit per item."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.conn: psycopg.Connection[Any] | None = None
        self.count = 0

    @classmethod
    def from_crawler(cls, crawler: Any) -> InsertPipeline:
        return cls(crawler.settings.get("NAIVE_DATABASE_URL"))

    def open_spider(self) -> None:
        self.conn = psycopg.connect(self.database_url, autocommit=True)
        self.conn.execute(TABLE)

    def close_spider(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def process_item(self, item: dict[str, Any]) -> dict[str, Any]:
        assert self.conn is not None
        self.conn.execute(
            "INSERT INTO naive_articles (url, title, author, date, language, text)"
            " VALUES (%(url)s, %(title)s, %(author)s, %(date)s, %(language)s, %(text)s)"
            " ON CONFLICT (url) DO NOTHING",
            item,
        )
        self.count += 1
        return item


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", required=True, help="http://127.0.0.1:PORT of the bench site")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    host = urlsplit(args.site).hostname
    if host != "127.0.0.1":
        parser.error("the naive spider only crawls 127.0.0.1")
    settings: dict[str, Any] = {
        "LOG_LEVEL": "WARNING",
        "ROBOTSTXT_OBEY": True,
        "TELNETCONSOLE_ENABLED": False,
        "COOKIES_ENABLED": False,
        "NAIVE_DATABASE_URL": args.database_url,
        "ITEM_PIPELINES": {InsertPipeline: 300},
    }
    for pair in args.set:
        name, _, value = pair.partition("=")
        settings[name] = value
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NaiveSpider)
    started = time.perf_counter()
    process.crawl(crawler, sitemap_urls=[f"{args.site}/sitemap.xml"], allowed_domains=[host])
    process.start()
    elapsed = time.perf_counter() - started
    stats = crawler.stats.get_stats() if crawler.stats else {}
    out = {
        "elapsed": elapsed,
        "scrapy_elapsed": stats.get("elapsed_time_seconds"),
        "responses": stats.get("response_received_count", 0),
        "items": stats.get("item_scraped_count", 0),
        "finish_reason": stats.get("finish_reason"),
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
