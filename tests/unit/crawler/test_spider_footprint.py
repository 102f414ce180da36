"""Footprint habits of the spider: a sitemap index's children are read after the
articles already queued, URLs past the length limit are failures, a giant word is no
article. The extraction pool's habits are in test_extractpool.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler

from crawler import settings as project
from crawler.extractpool import ExtractionPool
from crawler.items import FetchedPage, FetchFailed, Rejected
from crawler.pipelines.extract import ExtractPipeline
from crawler.spiders.news import NewsSpider

BASE = "http://127.0.0.1:8000"
INDEX = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    f"<sitemap><loc>{BASE}/sitemap-0.xml</loc></sitemap>"
    f"<sitemap><loc>{BASE}/sitemap-1.xml</loc></sitemap>"
    "</sitemapindex>"
)
URLSET = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
    + "".join(f"<url><loc>{BASE}/article/{n}.html</loc></url>" for n in range(3))
    + "</urlset>"
)


def _spider(tmp_path: Path) -> NewsSpider:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"sources:\n  - key: site\n    url: {BASE}/\n    sitemaps: [/sitemap.xml]\n",
        encoding="utf-8",
    )
    crawler = get_crawler(NewsSpider, {"NEWSINGEST_SOURCES": str(sources)})
    crawler.spider = crawler._create_spider(source="site")
    assert crawler.stats is not None
    crawler.stats.open_spider()
    spider = crawler.spider
    assert isinstance(spider, NewsSpider)
    return spider


def _parse(spider: NewsSpider, url: str, body: str) -> list[Any]:
    request = Request(url, meta={"newsingest_kind": "discovery"})
    return list(spider.parse_sitemap(XmlResponse(url, body=body.encode(), request=request)))


def test_child_sitemaps_of_an_index_go_after_the_articles(tmp_path: Path) -> None:
    spider = _spider(tmp_path)
    children = _parse(spider, f"{BASE}/sitemap.xml", INDEX)
    articles = _parse(spider, f"{BASE}/sitemap-0.xml", URLSET)
    assert [r.url for r in children] == [f"{BASE}/sitemap-0.xml", f"{BASE}/sitemap-1.xml"]
    assert len(articles) == 3
    # the scheduler pops higher priorities first: queued articles drain before the next
    # child sitemap adds its own
    assert max(r.priority for r in children) < min(r.priority for r in articles)


def test_urls_past_the_length_limit_become_failures_not_silent_drops(tmp_path: Path) -> None:
    spider = _spider(tmp_path)
    long_url = f"{BASE}/article/{'x' * 2100}.html"
    links = f"<a href='{long_url}'>long</a><a href='{BASE}/article/1.html'>short</a>"
    request = Request(f"{BASE}/", meta={"newsingest_kind": "discovery"})
    response = HtmlResponse(f"{BASE}/", body=f"<html><body>{links}</body></html>".encode(),
                            request=request, headers={"Content-Type": "text/html"})  # fmt: skip
    out = list(spider.parse_listing(response))
    failures = [o for o in out if isinstance(o, FetchFailed)]
    assert [(f.url, f.reason, f.stage) for f in failures] == [(long_url, "url_too_long", "fetch")]
    assert [o.url for o in out if isinstance(o, Request)] == [f"{BASE}/article/1.html"]
    sitemap = spider._discovery(f"{BASE}/{'s' * 2100}.xml", spider.parse_sitemap)
    assert isinstance(sitemap, FetchFailed) and sitemap.reason == "url_too_long"


def test_a_page_of_one_giant_word_is_not_an_article() -> None:
    crawler = get_crawler()
    assert crawler.stats is not None
    crawler.stats.open_spider()
    pipe = ExtractPipeline(
        crawler.stats,
        ExtractionPool(0),
        timeout=project.NEWSINGEST_EXTRACT_TIMEOUT,
        max_bytes=project.NEWSINGEST_EXTRACT_MAX_BYTES,
    )
    html = "<html><body><article><p>" + "Q" * 200_000 + "</p></article></body></html>"
    page = FetchedPage("s", f"{BASE}/w", f"{BASE}/w", 200, "text/html", html.encode(),
                       datetime.now(UTC))  # fmt: skip
    out = asyncio.run(pipe.process_item(page))
    assert isinstance(out, Rejected)
    assert out.rejection.reason == "too_short"  # one word, on a page not marked as an article


def test_the_telnet_console_is_off_unless_asked_for() -> None:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    assert settings.getbool("TELNETCONSOLE_ENABLED") is False


def test_no_crawl_serves_scrapys_code_running_remote_control() -> None:
    from scrapy import Spider
    from scrapy.crawler import Crawler
    from scrapy.exceptions import NotConfigured
    from scrapy.extensions.remote_control import RemoteControl
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    with pytest.raises(NotConfigured):
        RemoteControl(Crawler(Spider, settings))
