"""The stored-URL filters: discovery's article requests checked in batches, one query
per batch; the downloader filter only asks for what was not checked for its URL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import TextResponse
from scrapy.utils.test import get_crawler

from crawler.crawldb import CrawlDatabase
from crawler.exceptions import AlreadyStored
from crawler.meta import CHECKED
from crawler.middlewares.stored_urls import StoredUrlBatchFilter, StoredUrlFilter

BASE = "http://127.0.0.1:8000"


class _Lookups:
    """A stand-in database: the stored URLs, and the URL lists each query asked for."""

    def __init__(self, stored: set[str], fail: bool = False) -> None:
        self.stored = stored
        self.fail = fail
        self.queries: list[list[str]] = []

    def __call__(self, urls: list[str]) -> set[str]:
        self.queries.append(urls)
        if self.fail:
            raise ConnectionError("database down")
        return self.stored.intersection(urls)


UNUSED_DATABASE = CrawlDatabase("postgresql://unused", Path("/nonexistent"))
"""Never connected to: the tests give the filters their lookup."""


def _stats() -> Any:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    return crawler.stats


def _batch_filter(lookups: _Lookups, batch_size: int) -> StoredUrlBatchFilter:
    mw = StoredUrlBatchFilter(_stats(), UNUSED_DATABASE, lookups)
    mw.batch_size = batch_size
    return mw


def _article(n: int) -> Request:
    return Request(f"{BASE}/article/{n}.html", meta={"newsingest_kind": "article"})


async def _aiter(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def _run(mw: StoredUrlBatchFilter, outputs: list[Any]) -> list[Any]:
    response = TextResponse(f"{BASE}/sitemap.xml", body=b"")

    async def collect() -> list[Any]:
        return [x async for x in mw.process_spider_output(response, _aiter(outputs))]

    return asyncio.run(collect())


def test_article_requests_are_checked_in_batches_and_stored_ones_dropped() -> None:
    lookups = _Lookups({f"{BASE}/article/3.html", f"{BASE}/article/7.html"})
    mw = _batch_filter(lookups, batch_size=4)
    sitemap = Request(f"{BASE}/sitemap-1.xml", meta={"newsingest_kind": "discovery"})
    out = _run(
        mw, [_article(n) for n in range(5)] + [sitemap] + [_article(n) for n in range(5, 10)]
    )
    urls = [r.url for r in out]
    assert f"{BASE}/article/3.html" not in urls and f"{BASE}/article/7.html" not in urls
    assert len(urls) == 9  # 8 articles and the sitemap, which is never checked
    assert len(lookups.queries) == 3  # 10 article requests, 4 per query
    assert all(r.meta[CHECKED] == r.url for r in out if r.meta["newsingest_kind"] == "article")
    assert mw.stats.get_value("newsingest/incremental/skipped_stored") == 2


def test_a_canonical_form_that_is_stored_counts_as_stored() -> None:
    lookups = _Lookups({f"{BASE}/article/1.html"})
    mw = _batch_filter(lookups, batch_size=10)
    tracked = Request(f"{BASE}/article/1.html?utm_source=feed", meta={"newsingest_kind": "article"})
    assert _run(mw, [tracked]) == []


def test_when_the_check_fails_every_request_is_fetched_anyway() -> None:
    mw = _batch_filter(_Lookups(set(), fail=True), batch_size=10)
    out = _run(mw, [_article(n) for n in range(3)])
    assert len(out) == 3
    assert mw.stats.get_value("newsingest/incremental/check_failed") == 3


def test_the_downloader_filter_asks_only_for_unchecked_urls() -> None:
    lookups = _Lookups({f"{BASE}/article/9.html"})
    mw = StoredUrlFilter(_stats(), UNUSED_DATABASE, lookups)
    checked = _article(1)
    checked.meta[CHECKED] = checked.url
    assert asyncio.run(mw.process_request(checked)) is None
    assert lookups.queries == []
    # a redirect keeps the meta of the first request, not its URL: asked again
    redirected = checked.replace(url=f"{BASE}/article/9.html")
    with pytest.raises(AlreadyStored):
        asyncio.run(mw.process_request(redirected))
    assert len(lookups.queries) == 1
