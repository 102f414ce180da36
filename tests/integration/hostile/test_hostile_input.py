"""Hostile and broken input through the whole pipeline (discovery, download, extraction,
storage): each case is rejected or handled with a reason, in bounded time and memory, and
nothing crashes the crawl or writes a partial row."""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from storage.models import Article, CrawlRun, FetchFailure, Page
from tests.integration.conftest import Cli, write_sources
from tests.integration.hostile.site import ARTICLES, build

MAX_RSS_MB = 1500
"""Generous ceiling for the largest process of the crawl (a guard, not a measurement)."""


@pytest.fixture
def hostile_site(tmp_path: Path) -> Iterator[SiteServer]:
    with SiteServer(build(tmp_path / "hostile")) as server:
        yield server


def test_hostile_input_is_rejected_with_reasons_and_the_crawl_finishes(
    cli: Cli, hostile_site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = write_sources(
        tmp_path / "sources.yaml",
        hostile_site.base_url,
        sitemaps="[/sitemap.xml, /sitemap-laughs.xml, /sitemap-xxe.xml, /sitemap-bomb.xml.gz]",
        feeds="[/feed-laughs.rss, /feed-xxe.rss]",
        listings="[/links.html]",
        listing_depth=0,
        article_urls='{allow: ["/a/"]}',
    )
    result = cli.run(
        "crawl", "site", "--sources", str(sources),
        "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "NEWSINGEST_EXTRACT_TIMEOUT=60",
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    base = hostile_site.base_url
    with sessions() as session:
        (run,) = session.execute(select(CrawlRun)).scalars()
        failures = {
            f.url.removeprefix(base): f for f in session.execute(select(FetchFailure)).scalars()
        }
        stored = {
            p.requested_url.removeprefix(base): (a, p)
            for a, p in session.execute(
                select(Article, Page).join(Page, Page.article_id == Article.id)
            )
        }
        articles = session.execute(select(Article)).scalars().all()
    assert run.status == "succeeded"

    outcome = {
        path: "stored" if path in stored else failures[path].reason if path in failures else "-"
        for path in ARTICLES
    }
    assert outcome == ARTICLES
    for path in ("/sitemap-laughs.xml", "/sitemap-xxe.xml", "/sitemap-bomb.xml.gz"):
        assert failures[path].reason == "bad_sitemap", path
    for path in ("/feed-laughs.rss", "/feed-xxe.rss"):
        assert failures[path].reason == "bad_feed", path
    assert all(f.detail for f in failures.values())

    # no partial rows: every article has its page and a complete record, free of NULs
    assert len(articles) == len(stored)
    for article, page in stored.values():
        assert article.text and "\x00" not in article.text
        assert "\x00" not in (article.title or "")
        assert len(article.content_hash) == 64 and page.html_zlib
        assert article.url.startswith(base + "/a/")  # not javascript:/file: canonicals
        assert article.image_url is None or article.image_url.startswith("http")
    assert stored["/a/charset-mismatch.html"][0].title == "Grüße aus Köln"
    assert stored["/a/wrong-charset.html"][0].title == "Grüße"

    requested = hostile_site.requested_paths()
    assert not [p for p in requested if p.startswith("/x/")]  # not articles by pattern
    assert "/a/credentials.html" not in requested
    assert "/a/ftp.html" not in requested
    assert hostile_site.offsite_requests == []
    assert run.stats["newsingest/discovery/urls_found"] <= 5000 + 100  # link cap held
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024 < MAX_RSS_MB
