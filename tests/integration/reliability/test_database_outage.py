"""The database goes away mid-crawl (connections refused and cut): records go to the spool,
the crawl goes on, and every extracted article ends up in the database exactly once."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler import spool
from crawler.demo.server import SiteServer
from storage.models import Article, CrawlRun, FetchFailure, Page
from tests.integration.conftest import Cli
from tests.integration.reliability.conftest import (
    ARTICLES,
    Crawl,
    article_paths,
    count_articles,
    spool_files,
    start_crawl,
    wait_until,
)


def _stored(sessions: sessionmaker[Session]) -> tuple[list[str], int, list[Any]]:
    with sessions() as session:
        urls = list(session.execute(select(Article.url)).scalars())
        pages = int(session.execute(select(func.count()).select_from(Page)).scalar_one())
        runs = list(session.execute(select(CrawlRun).order_by(CrawlRun.id)).scalars())
    return urls, pages, runs


def test_an_outage_during_the_crawl_is_spooled_and_written_by_the_same_crawl(
    cli: Cli,
    slow_site: SiteServer,
    slow_sources: Path,
    sessions: sessionmaker[Session],
    outage: Callable[[], Any],
    crawls: list[Crawl],
) -> None:
    crawls.append(crawl := start_crawl(cli, slow_sources))
    wait_until(lambda: count_articles(sessions) >= 3, what="first articles stored", crawl=crawl)
    with outage():
        wait_until(lambda: len(spool_files(cli.data_dir)) >= 2, what="batches spooled", crawl=crawl)
    code, out, err = crawl.wait()
    assert code == 0, out + err[-3000:]
    urls, pages, (run,) = _stored(sessions)
    assert len(urls) == len(set(urls)) == ARTICLES
    assert pages == ARTICLES
    assert spool_files(cli.data_dir) == []
    assert run.status == "succeeded"
    assert run.stats["newsingest/store/spooled_total_articles"] >= 2
    assert run.stats["newsingest/store/replayed_articles"] >= 2
    assert run.stats["newsingest/store/spooled_articles"] == 0
    # The stored-URL check runs in batches at discovery, usually before the outage; that
    # a failed check fetches anyway is tested in tests/unit/crawler/middlewares/test_stored_urls.


def test_an_outage_at_the_end_is_replayed_by_the_spool_command_exactly_once(
    cli: Cli,
    slow_site: SiteServer,
    slow_sources: Path,
    sessions: sessionmaker[Session],
    outage: Callable[[], Any],
    crawls: list[Crawl],
    tmp_path: Path,
) -> None:
    crawls.append(crawl := start_crawl(cli, slow_sources))
    wait_until(lambda: count_articles(sessions) >= 3, what="first articles stored", crawl=crawl)
    with outage():
        code, out, err = crawl.wait()
        status = cli.run("spool", "status")
        replay_while_down = cli.run("spool", "replay")
    assert code == 1, err[-3000:]
    assert out.strip().startswith("site: failed — "), out
    assert "spooled (database unavailable)" in out
    assert replay_while_down.returncode == 1
    assert "database unreachable" in replay_while_down.stderr
    assert status.returncode == 1, status.stdout + status.stderr
    pending = spool.status(cli.data_dir)
    spooled = pending.total("article")
    assert spooled >= 1
    assert f"{spooled} articles" in status.stdout
    backup = tmp_path / "spool-copy"
    shutil.copytree(cli.data_dir / "spool", backup)

    replay = cli.run("spool", "replay")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    urls, pages, (run,) = _stored(sessions)
    assert len(urls) == len(set(urls)) == ARTICLES
    assert pages == ARTICLES
    assert cli.run("spool", "status").returncode == 0

    # the same files replayed again (a crash between commit and delete): nothing doubles
    with sessions() as session:
        failures_before = session.execute(select(func.count()).select_from(FetchFailure)).scalar()
        versions_before = list(session.execute(select(Article.url, Article.version)))
    shutil.rmtree(cli.data_dir / "spool")
    shutil.copytree(backup, cli.data_dir / "spool")
    again = cli.run("spool", "replay")
    assert again.returncode == 0, again.stdout + again.stderr
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(Article)).scalar() == ARTICLES
        assert (
            session.execute(select(func.count()).select_from(FetchFailure)).scalar()
            == failures_before
        )
        assert sorted(session.execute(select(Article.url, Article.version))) == sorted(
            versions_before
        )
    # the run's own outcome was spooled at close and recorded by the replay
    assert run.status == "failed"
    assert run.finished_at is not None
    # the next crawl fetches nothing again
    slow_site.clear_requests()
    again_crawl = cli.run("crawl", "site", "--sources", str(slow_sources),
                          "-s", "AUTOTHROTTLE_ENABLED=False")  # fmt: skip
    assert again_crawl.returncode == 0, again_crawl.stderr[-3000:]
    assert article_paths(slow_site) == []
    urls, _, runs = _stored(sessions)
    assert [r.status for r in runs] == ["failed", "succeeded"]
    assert len(urls) == ARTICLES
