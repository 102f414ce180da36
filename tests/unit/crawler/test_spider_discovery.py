"""The spider hands discovery what the response and the source know: the HTTP charset
(for feeds and sitemaps that declare no encoding) and the source's country (for
ambiguous time-zone names)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import Response, XmlResponse
from scrapy.utils.test import get_crawler

from crawler.extraction.record import Hints
from crawler.spiders.news import NewsSpider

BASE = "http://127.0.0.1:8000"


def _spider(tmp_path: Path) -> NewsSpider:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - key: site\n    url: {BASE}/\n    country: IE\n    max_age_days: 3650\n",
        encoding="utf-8",
    )
    crawler = get_crawler(NewsSpider, {"NEWSINGEST_SOURCES": str(sources)})
    crawler.spider = crawler._create_spider(source="site")
    assert crawler.stats is not None
    crawler.stats.open_spider()
    spider = crawler.spider
    assert isinstance(spider, NewsSpider)
    return spider


def _hints(requests: list[Any]) -> list[Hints]:
    return [r.meta["newsingest_hints"] for r in requests]


FEED = (
    "<rss><channel><item><title>Новости дня</title><link>{base}/a</link>"
    "<pubDate>Tue, 10 Jun 2025 10:00:00 IST</pubDate><dc:creator xmlns:dc='dc'>Иван Петров"
    "</dc:creator></item></channel></rss>"
)


def test_feed_without_declared_encoding_is_read_with_the_http_charset(tmp_path: Path) -> None:
    spider = _spider(tmp_path)
    body = FEED.format(base=BASE).encode("koi8-r")
    headers = {"Content-Type": "application/rss+xml; charset=KOI8-R"}
    request = Request(f"{BASE}/feed.xml", meta={"newsingest_kind": "discovery"})
    response = XmlResponse(f"{BASE}/feed.xml", body=body, headers=headers, request=request)
    (hints,) = _hints(list(spider.parse_feed(response)))
    assert hints.title == "Новости дня"
    assert hints.authors == ("Иван Петров",)
    # the source is Irish: IST is Irish Standard Time, UTC+1
    assert hints.published_at == datetime(2025, 6, 10, 9, tzinfo=UTC)


def test_feed_listed_as_sitemap_gives_its_authors_and_the_http_charset_is_used(
    tmp_path: Path,
) -> None:
    spider = _spider(tmp_path)
    body = FEED.format(base=BASE).encode("koi8-r")
    headers = {"Content-Type": "application/octet-stream; charset=koi8-r"}
    request = Request(f"{BASE}/sitemap.xml", meta={"newsingest_kind": "discovery"})
    response = Response(f"{BASE}/sitemap.xml", body=body, headers=headers, request=request)
    (hints,) = _hints(list(spider.parse_sitemap(response)))
    assert (hints.title, hints.authors) == ("Новости дня", ("Иван Петров",))
    assert hints.published_at == datetime(2025, 6, 10, 9, tzinfo=UTC)


def test_a_link_the_url_parser_refuses_is_a_failure_and_the_feed_goes_on(
    tmp_path: Path,
) -> None:
    from crawler.failures import FailureReason
    from crawler.items import FetchFailed

    spider = _spider(tmp_path)
    items = "".join(
        f"<item><title>T{i}</title><link>{link}</link></item>"
        for i, link in enumerate([f"{BASE}/a", "http://bad.127.0.0.1:8000/b", f"{BASE}/c"])
    )
    body = f"<rss><channel>{items}</channel></rss>".encode()
    request = Request(f"{BASE}/feed.xml", meta={"newsingest_kind": "discovery"})
    response = XmlResponse(f"{BASE}/feed.xml", body=body, request=request)
    out = list(spider.parse_feed(response))
    assert [type(o).__name__ for o in out] == ["Request", "FetchFailed", "Request"]
    failed = out[1]
    assert isinstance(failed, FetchFailed)
    assert (failed.reason, failed.stage) == (FailureReason.INVALID_URL, "fetch")
    assert "bad.127.0.0.1" in (failed.detail or "")
