"""Scope on every hop and on the canonical; no source writes over another's article."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from crawler.extraction.record import ArticleRecord
from storage import db
from storage.articles import StoredArticle
from storage.models import Article, FetchFailure
from storage.sources import SourceRow, upsert_source
from storage.writes import PendingArticle, write_entries
from tests.integration.conftest import Cli, write_sources
from tests.integration.trust.site import build, build_other


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[SiteServer]:
    with SiteServer(build_other(tmp_path / "other"), offsite_host=None) as server:
        yield server


@pytest.fixture
def scope_site(tmp_path: Path, other_site: SiteServer) -> Iterator[SiteServer]:
    with SiteServer(build(tmp_path / "site", other_site.base_url), offsite_host=None) as server:
        yield server


def test_refreshes_redirects_and_canonicals_never_leave_the_source_scope(
    cli: Cli,
    scope_site: SiteServer,
    other_site: SiteServer,
    tmp_path: Path,
    sessions: sessionmaker[Session],
) -> None:
    sources = write_sources(
        tmp_path / "sources.yaml",
        scope_site.base_url,
        listings="[/]",
        listing_depth=0,
        article_urls='{deny: ["/private/"]}',
    )
    result = cli.run(
        "crawl", "site", "--sources", str(sources), "-s", "AUTOTHROTTLE_ENABLED=False",
        "-s", "NEWSINGEST_EXTRACT_WORKERS=1",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    base = scope_site.base_url
    with sessions() as session:
        urls = {u.removeprefix(base) for u in session.execute(select(Article.url)).scalars()}
        failures = {
            f.url.removeprefix(base): f.reason
            for f in session.execute(select(FetchFailure)).scalars()
        }
    # the other port's page was never fetched, the denied target never stored
    assert other_site.requested_paths() == []
    assert "/private/draft.html" not in scope_site.requested_paths()
    assert urls == {"/a/good.html", "/a/canonical.html"}
    assert failures == {
        "/a/refresh.html": "offsite_redirect",
        "/a/redirect.html": "denied_redirect",
    }


def _record(url: str, text: str) -> ArticleRecord:
    return ArticleRecord(
        url=url, text=text, content_hash=str(abs(hash(text))).rjust(64, "0"), simhash=1,
        word_count=len(text.split()), extractor_version="t", fetched_at=datetime.now(UTC),
    )  # fmt: skip


def test_a_source_never_writes_over_an_article_another_source_stored(
    sessions: sessionmaker[Session],
) -> None:
    with db.transaction(sessions) as session:
        a = upsert_source(session, SourceRow("a", "A", "http://127.0.0.1:1/"))
        b = upsert_source(session, SourceRow("b", "B", "http://127.0.0.2:1/"))
    url = "http://127.0.0.1:1/story.html"
    original = StoredArticle(_record(url, "the original text of source a"), a)
    write_entries(sessions, [PendingArticle("a", original)], [])
    taken = replace(original, record=_record(url, "a page of source b claims the url"))
    other = PendingArticle("b", replace(taken, source_id=None))
    result = write_entries(sessions, [other], [])
    with sessions() as session:
        row = session.execute(select(Article)).scalar_one()
        (failure,) = session.execute(select(FetchFailure)).scalars()
    assert (row.source_id, row.text, row.version) == (a, "the original text of source a", 1)
    assert (failure.url, failure.reason, failure.source_id) == (url, "other_source", b)
    assert result.foreign == 1
