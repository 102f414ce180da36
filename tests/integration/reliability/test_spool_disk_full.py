"""The database is down and the spool cannot be written either (file size limit: EFBIG):
the crawl stops with a clear message, the spool holds no partial file, and the next crawl
stores everything exactly once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler import spool
from crawler.demo.server import SiteServer
from storage.models import Article, CrawlRun
from tests.integration.conftest import Cli
from tests.integration.reliability.conftest import (
    ARTICLES,
    Crawl,
    count_articles,
    start_crawl,
    wait_until,
)


def test_a_spool_that_cannot_be_written_stops_the_crawl_cleanly_without_corrupt_files(
    cli: Cli,
    slow_site: SiteServer,
    slow_sources: Path,
    sessions: sessionmaker[Session],
    outage: Callable[[], Any],
    crawls: list[Crawl],
) -> None:
    crawls.append(crawl := start_crawl(cli, slow_sources, file_size_limit=2000, log_level="INFO"))
    wait_until(lambda: count_articles(sessions) >= 3, what="first articles stored", crawl=crawl)
    with outage():
        code, out, err = crawl.wait(timeout=120)
    assert code != 0
    assert "the spool cannot be written" in err, err[-3000:]
    assert "File too large" in err
    assert "stopping the crawl" in err
    assert "site: failed" in out
    assert "Closing spider (spool_failed)" in err
    found = spool.status(cli.data_dir)
    # no record made it to disk half-written; at most the run's own (small) outcome did
    assert found.total("article") == 0 and found.total("failure") == 0
    assert all(not f.bad_lines and not f.torn_tail for f in found.files)
    assert found.damaged_files == []
    assert not list((cli.data_dir / "spool").glob("*.part"))

    again = cli.run("crawl", "site", "--sources", str(slow_sources),
                    "-s", "AUTOTHROTTLE_ENABLED=False")  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    with sessions() as session:
        runs = [r.status for r in session.execute(select(CrawlRun).order_by(CrawlRun.id)).scalars()]
        urls = list(session.execute(select(Article.url)).scalars())
    # "failed" when the run's outcome was spooled at close and replayed by this crawl,
    # "abandoned" when it was not (the disk refused it too)
    assert runs[0] in ("abandoned", "failed") and runs[1:] == ["succeeded"]
    assert len(urls) == len(set(urls)) == ARTICLES
