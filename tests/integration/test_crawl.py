"""End to end: the fixture site crawled through the real Scrapy engine into PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from scrapy.crawler import Crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import Engine, make_url, select, text
from sqlalchemy.orm import Session, sessionmaker

from crawler import stats as stat
from crawler.crawldb import CrawlDatabase
from crawler.demo.server import SiteServer
from crawler.extraction.record import ArticleRecord
from crawler.pipelines import store
from storage import articles, db
from storage.articles import StoredArticle
from storage.models import Article, CrawlRun, FetchFailure, Page
from storage.sources import SourceRow, upsert_source
from storage.writes import PendingArticle, merge_search_index
from tests.integration.conftest import TABLES, Cli, write_sources
from tests.integration.fixture_site import expected

EXPECTED: dict[str, Any] = expected()
ARTICLE_PATHS = sorted(k for k in EXPECTED if k.startswith("/"))
FAST = ["-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_MAXSIZE=2000000"]


def _sources(tmp_path: Path, site: SiteServer) -> Path:
    return write_sources(
        tmp_path / "sources.yaml",
        site.base_url,
        feeds="[/feed.rss, /feed.atom, /feed-extra.rss, /broken-feed.rss]",
        listings="[/, /aktuell/, /faults/]",
        listing_depth=3,
        max_age_days=30,
    )


def _path(url: str, site: SiteServer) -> str:
    return url.removeprefix(site.base_url)


def _crawl(cli: Cli, sources: Path, *extra: str) -> Any:
    result = cli.run("crawl", "site", "--sources", str(sources), *FAST, *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _crawl_and_read(
    cli: Cli, site: SiteServer, folder: Path, sessions: sessionmaker[Session]
) -> dict[str, Any]:
    """One crawl of the fixture site into empty tables, and what it left behind."""
    sources = _sources(folder, site)
    _crawl(cli, sources)
    with sessions() as session:
        pages = {
            _path(p.requested_url, site): (p, a)
            for p, a in session.execute(
                select(Page, Article).join(Article, Article.id == Page.article_id)
            )
        }
        failures = {_path(f.url, site): f for f in session.execute(select(FetchFailure)).scalars()}
        runs = list(session.execute(select(CrawlRun)).scalars())
    return {
        "pages": pages,
        "failures": failures,
        "runs": runs,
        "requested": site.requested_paths(),
        "offsite_requests": list(site.offsite_requests),
        "frontier_left": list((cli.data_dir / "frontier").iterdir()),
        "sources": sources,
    }


@pytest.fixture(scope="module")
def first_crawl(
    database_url: str,
    engine: Engine,
    site_server: SiteServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """The crawl the read-only tests below look at: made once for the module (each crawl
    takes seconds); tests that crawl again take ``crawled``, their own."""
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
    site_server.reset()
    folder = tmp_path_factory.mktemp("first-crawl")
    cli = Cli(database_url=database_url, data_dir=folder / "data")
    return _crawl_and_read(cli, site_server, folder, db.make_session_factory(engine))


@pytest.fixture
def crawled(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> dict[str, Any]:
    return _crawl_and_read(cli, site, tmp_path, sessions)


def test_every_article_of_the_site_is_stored(first_crawl: dict[str, Any]) -> None:
    stored = set(first_crawl["pages"])
    redirects = EXPECTED.get("redirects", {})
    for path in ARTICLE_PATHS:
        assert path in stored or path in redirects.values(), f"{path} not stored"
    for old, new in redirects.items():
        assert old in stored or new in stored


def test_stored_articles_carry_the_pages_facts(first_crawl: dict[str, Any]) -> None:
    by_path = first_crawl["pages"]
    for path in ARTICLE_PATHS:
        _, article = by_path[path]
        facts = EXPECTED[path]
        assert article.title == facts["title"], path
        assert article.language == facts["language"], path
        assert article.translation_source_language == facts.get("translation_source_language")
        if facts.get("authors"):
            assert article.authors == facts["authors"], path
        if facts.get("published_precision"):
            assert article.published_precision == facts["published_precision"], path
        assert article.version == 1
        assert article.content_hash and len(article.content_hash) == 64


def test_stubs_are_stored_as_stubs_of_their_kind(first_crawl: dict[str, Any]) -> None:
    assert EXPECTED["stubs"]  # the demo site's paywalled interview
    for path, kind in EXPECTED["stubs"].items():
        _, article = first_crawl["pages"][path]
        assert article.stub == kind, path


def test_non_articles_are_not_stored_as_articles(first_crawl: dict[str, Any]) -> None:
    for path in EXPECTED["non_articles"]:
        assert path not in first_crawl["pages"], f"{path} was stored as an article"


def test_disallowed_old_and_offsite_urls_are_never_requested(
    first_crawl: dict[str, Any],
) -> None:
    requested = set(first_crawl["requested"])
    for path in EXPECTED["never_requested"]:
        assert path not in requested, f"{path} was requested"
    assert first_crawl["offsite_requests"] == []


def test_robots_txt_is_fetched_once_and_its_sitemaps_are_read(first_crawl: dict[str, Any]) -> None:
    # Scrapy's robots.txt middleware and discovery (its Sitemap lines) share one download
    assert first_crawl["requested"].count("/robots.txt") == 1
    assert "/sitemap_index.xml" in first_crawl["requested"]


def test_failed_fetches_are_recorded_with_their_reason(first_crawl: dict[str, Any]) -> None:
    failures = first_crawl["failures"]
    assert failures["/gone.html"].reason == "http_404"
    assert failures["/gone.html"].stage == "fetch"
    assert failures["/broken/500.html"].reason == "http_500"
    assert failures["/files/report.pdf"].reason == "not_html"
    assert failures["/big.html"].reason == "too_large"
    assert failures["/loop-a"].reason == "redirect_loop"
    assert failures["/offsite"].reason == "offsite_redirect"
    assert failures["/video/hafen-zeitraffer.html"].reason == "video_only"
    assert failures["/video/hafen-zeitraffer.html"].stage == "extract"
    assert failures["/broken-feed.rss"].stage == "discovery"
    assert failures["/broken-feed.rss"].reason == "bad_feed"
    assert all(f.run_id == first_crawl["runs"][0].id for f in failures.values())


def test_the_run_is_recorded_as_succeeded_with_its_stats(first_crawl: dict[str, Any]) -> None:
    (run,) = first_crawl["runs"]
    assert run.status == "succeeded"
    assert run.trigger == "cli"
    assert run.finished_at is not None
    assert run.stats["newsingest/store/inserted"] == len(first_crawl["pages"])


def test_the_store_pipeline_merges_the_search_index_pending_list_after_its_batches(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    _crawl(cli, _sources(tmp_path, site), "-s", "NEWSINGEST_SEARCH_MERGE_ARTICLES=1")
    with db.transaction(sessions) as session:
        (run,) = session.execute(select(CrawlRun)).scalars()
        left = articles.merge_search_entries(session)
    assert run.stats["newsingest/store/search_merges"] >= 1
    assert run.stats["newsingest/store/search_merged_pages"] >= 1
    assert left == 0  # the last batch's entries were merged too


def _merging_pipeline(
    url: str, data_dir: Path, *, batch_size: int
) -> tuple[Crawler, store.StorePipeline]:
    """A store pipeline (and its crawler, for the stats) merging after every article."""
    crawler = get_crawler()
    assert crawler.stats is not None
    pipe = store.StorePipeline(
        crawler.stats,
        CrawlDatabase(url, data_dir),
        batch_size=batch_size,
        flush_seconds=60.0,
        search_merge_articles=1,
    )
    return crawler, pipe


def test_batches_are_stored_while_a_merge_of_the_search_index_runs(
    database_url: str,
    sessions: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with db.transaction(sessions) as session:
        upsert_source(session, SourceRow("m", "M", "http://127.0.0.1:1/"))
    release, merges = threading.Event(), list[int]()

    def held_merge(factory: sessionmaker[Session]) -> int:
        release.wait(60)
        merges.append(1)
        return merge_search_index(factory)

    monkeypatch.setattr(store, "merge_search_index", held_merge)
    crawler, pipe = _merging_pipeline(database_url, tmp_path, batch_size=1)

    def article(n: int) -> PendingArticle:
        text = f"merge alongside article number {n} of the pipeline"
        record = ArticleRecord(
            url=f"http://127.0.0.1:1/{n}.html", text=text, content_hash=f"{n}".rjust(64, "0"),
            simhash=n, word_count=len(text.split()), extractor_version="t",
            fetched_at=datetime.now(UTC),
        )  # fmt: skip
        return PendingArticle("m", StoredArticle(record, None))

    async def crawl() -> int:
        await pipe.open_spider()
        pipe._articles.append(article(1))
        await pipe._flush()  # stores it, then starts a merge that waits
        pipe._articles.append(article(2))
        await asyncio.wait_for(pipe._flush(), 30)  # not behind the merge
        with sessions() as session:
            stored = len(session.execute(select(Article.id)).all())
        release.set()
        await pipe.close_spider()
        return stored

    try:
        stored = asyncio.run(crawl())
    finally:
        release.set()
        pipe.database.dispose()
    with db.transaction(sessions) as session:
        left = articles.merge_search_entries(session)
    assert stored == 2
    assert len(merges) == 2  # the close merged what the second batch added
    assert left == 0
    assert crawler.stats.get_value(stat.STORE_SEARCH_MERGES) == 2


@pytest.fixture
def writer_role(database_url: str) -> Iterator[str]:
    """A role with every privilege on the tables that owns none of them."""
    name = f"newsingest_w_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as owner:
        owner.execute(f'CREATE ROLE "{name}" LOGIN')
        owner.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{name}"')
    yield make_url(database_url).set(username=name).render_as_string(hide_password=False)
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as owner:
        owner.execute(f'DROP OWNED BY "{name}"')
        owner.execute(f'DROP ROLE "{name}"')


def test_a_crawl_whose_role_does_not_own_the_search_index_stops_merging_it_with_a_warning(
    writer_role: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    crawler, pipe = _merging_pipeline(writer_role, tmp_path, batch_size=100)
    engine = db.make_engine(writer_role, pool_size=1)
    pipe._sessions = db.make_session_factory(engine)
    store._since_merge.stored = 1

    async def merge() -> None:
        await pipe._merge_search_index()
        assert pipe._merging is not None
        await pipe._merging

    try:
        with caplog.at_level(logging.WARNING, logger="crawler.pipelines.store"):
            asyncio.run(merge())
    finally:
        engine.dispose()
        pipe._merge_thread.shutdown()
    assert not store._since_merge.running
    assert pipe.search_merge_articles == 0  # the inserts merge it from now on
    assert "could not merge the search index's pending list" in caplog.text
    assert crawler.stats.get_value(stat.STORE_SEARCH_MERGES) is None


def test_pending_requests_waited_on_disk_in_a_folder_removed_after_the_crawl(
    first_crawl: dict[str, Any],
) -> None:
    (run,) = first_crawl["runs"]
    assert run.stats["scheduler/enqueued/disk"] == run.stats["scheduler/enqueued"] > 0
    assert "scheduler/enqueued/memory" not in run.stats
    assert "scheduler/unserializable" not in run.stats
    assert first_crawl["frontier_left"] == []


def test_second_crawl_fetches_no_article_again(
    crawled: dict[str, Any], cli: Cli, site: SiteServer, sessions: sessionmaker[Session]
) -> None:
    site.clear_requests()
    _crawl(cli, crawled["sources"])
    again = set(site.requested_paths())
    assert again, "the second crawl requested nothing at all (discovery missing)"
    assert not (again & set(crawled["pages"])), again & set(crawled["pages"])
    with sessions() as session:
        runs = list(session.execute(select(CrawlRun).order_by(CrawlRun.id)).scalars())
        count = session.execute(select(Article.id)).all()
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    assert runs[1].stats.get("newsingest/store/inserted", 0) == 0
    assert len(count) == len(crawled["pages"])


def test_second_crawl_asks_feeds_conditionally_and_gets_304(
    cli: Cli, site: SiteServer, tmp_path: Path
) -> None:
    # feeds and sitemaps only: every article they list can be fetched
    sources = write_sources(
        tmp_path / "clean.yaml", site.base_url, feeds="[/feed.rss, /feed.atom]", max_age_days=30
    )
    _crawl(cli, sources)
    site.clear_requests()
    _crawl(cli, sources)
    status = {path: code for _, path, code in site.requests}
    assert status["/feed.rss"] == 304
    assert status["/feed.atom"] == 304
    assert status["/sitemap-news.xml"] == 304
    assert status["/sitemap_index.xml"] == 200  # an index is always read in full
    assert status["/robots.txt"] == 200


def test_a_refresh_after_a_crawl_reads_feeds_in_full_and_fetches_the_articles_again(
    cli: Cli, site: SiteServer, tmp_path: Path
) -> None:
    sources = write_sources(
        tmp_path / "clean.yaml", site.base_url, feeds="[/feed.rss, /feed.atom]", max_age_days=30
    )
    _crawl(cli, sources)
    first = {path for _, path, code in site.requests if code == 200}
    site.clear_requests()
    _crawl(cli, sources, "--refresh")
    status = {path: code for _, path, code in site.requests}
    assert 304 not in status.values(), status  # nothing asked conditionally
    assert status["/feed.rss"] == status["/feed.atom"] == status["/sitemap-news.xml"] == 200
    articles = {p for p in first if p in ARTICLE_PATHS}
    assert articles and articles <= set(status)  # every article fetched again


def test_crawl_with_a_transient_failure_reads_its_feeds_in_full_next_time(
    crawled: dict[str, Any], cli: Cli, site: SiteServer
) -> None:
    # the first crawl met a 500 (/broken/500.html): what it missed must be found again
    assert crawled["failures"]["/broken/500.html"].reason == "http_500"
    site.clear_requests()
    _crawl(cli, crawled["sources"])
    status = {path: code for _, path, code in site.requests}
    assert status["/feed.rss"] == 200
    assert status["/feed.atom"] == 200
