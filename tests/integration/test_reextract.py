"""`newsingest reextract`: stored pages run through the current extractor again."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crawler.demo.server import SiteServer
from crawler.extraction import EXTRACTOR_VERSION, ArticleRecord, extract_article
from crawler.extraction.text import content_hash
from storage import articles, db
from storage.articles import StoredArticle
from storage.models import Article, ArticleVersion
from storage.pages import StoredPage
from storage.sources import SourceRow, upsert_source
from tests.integration.conftest import Cli, write_sources
from tests.integration.fixture_site import site_file

FETCHED = datetime(2025, 2, 14, 7, 30, tzinfo=UTC)
OLD = "0.0.1-old"


def _page(path: str, html: bytes) -> StoredPage:
    url = f"https://site.example{path}"
    return StoredPage(
        requested_url=url,
        final_url=url,
        status=200,
        content_type="text/html",
        html=html,
        fetched_at=FETCHED,
    )


def _extract(path: str) -> tuple[ArticleRecord, StoredPage]:
    html = site_file(path).read_bytes()
    page = _page(path, html)
    record = extract_article(html, page.final_url)
    assert isinstance(record, ArticleRecord), record
    return replace(record, fetched_at=FETCHED), page


def _store(sessions: sessionmaker[Session], *items: tuple[ArticleRecord, StoredPage]) -> None:
    with db.transaction(sessions) as session:
        source_id = upsert_source(
            session, SourceRow(key="site", name="Site", url="https://site.example/")
        )
        articles.upsert_articles(
            session, [StoredArticle(record=r, source_id=source_id, page=p) for r, p in items]
        )


def _articles(sessions: sessionmaker[Session]) -> dict[str, Article]:
    with sessions() as session:
        return {a.url: a for a in session.execute(select(Article)).scalars()}


def test_stale_rows_get_a_new_version_only_where_content_changed(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    strike, strike_page = _extract("/news/2025/02/hafen-streik.html")
    budget, budget_page = _extract("/news/2025/02/stadthaushalt.html")
    current, current_page = _extract("/news/2025/02/stromausfall.html")
    old_text = strike.text + "\n\nTeilen Sie diesen Artikel!"  # what an older extractor kept
    stale_strike = replace(
        strike, text=old_text, content_hash=content_hash(old_text), extractor_version=OLD
    )
    stale_budget = replace(budget, extractor_version=OLD)  # same content, older extractor
    not_an_article = replace(
        budget, url="https://site.example/impressum", extractor_version=OLD, title="Impressum"
    )
    # the page is gone from the site now; what was stored is a stub
    impressum_page = _page("/impressum", b"<html><body><p>Impressum: Site GmbH.</p></body></html>")
    _store(
        sessions,
        (stale_strike, strike_page),
        (stale_budget, budget_page),
        (current, current_page),
        (not_an_article, impressum_page),
    )
    before = _articles(sessions)

    done = cli.run("reextract", "--stale", "--batch-size", "2", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "3 pages: 1 changed (new version), 1 unchanged content, 1 rejected (kept)" in done.stdout
    assert "rejected: article" in done.stderr and "impressum" in done.stderr

    after = _articles(sessions)
    new_strike = after[strike.url]
    assert (new_strike.version, new_strike.text) == (2, strike.text)
    assert new_strike.extractor_version == EXTRACTOR_VERSION
    assert new_strike.last_seen_at == before[strike.url].last_seen_at  # nothing was crawled
    assert after[budget.url].version == 1
    assert after[budget.url].extractor_version == EXTRACTOR_VERSION
    kept = after["https://site.example/impressum"]
    assert (kept.version, kept.extractor_version, kept.title) == (1, OLD, "Impressum")
    assert after[current.url].last_seen_at == before[current.url].last_seen_at
    with sessions() as session:
        (archived,) = session.execute(select(ArticleVersion)).scalars().all()
    assert (archived.article_id, archived.text, archived.extractor_version) == (
        new_strike.id,
        old_text,
        OLD,
    )
    with db.transaction(sessions) as session:  # the changed vectors were merged
        assert articles.merge_search_entries(session) == 0


def test_without_stale_every_row_of_the_source_is_reextracted(
    cli: Cli, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    current, current_page = _extract("/news/2025/02/stromausfall.html")
    _store(sessions, (current, current_page))
    done = cli.run("reextract", "--source", "site", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "1 pages: 0 changed (new version), 1 unchanged content, 0 rejected" in done.stdout
    done = cli.run("reextract", "--source", "elsewhere", "--workers", "1")
    assert "0 pages" in done.stdout


def test_a_reextracted_record_with_credits_and_utc_offset_stores_them(
    sessions: sessionmaker[Session],
) -> None:
    record, page = _extract("/news/2025/02/stadthaushalt.html")
    _store(sessions, (replace(record, credits=(), published_utc_offset=None), page))
    with sessions() as session:
        article_id = session.execute(select(Article.id)).scalar_one()
    reextracted = replace(record, credits=("dpa", "Redaktion Politik"), published_utc_offset=60)
    with db.transaction(sessions) as session:
        result = articles.apply_reextraction(session, [(article_id, reextracted)])
    assert (result.changed, result.unchanged) == (0, 1)
    (article,) = _articles(sessions).values()
    assert (article.credits, article.published_utc_offset) == (["dpa", "Redaktion Politik"], 60)


def test_a_reextracted_record_marked_as_a_stub_stores_the_mark_and_can_clear_it(
    sessions: sessionmaker[Session],
) -> None:
    record, page = _extract("/news/2025/02/stadthaushalt.html")
    _store(sessions, (record, page))
    with sessions() as session:
        article_id = session.execute(select(Article.id)).scalar_one()
    stubs = []
    for stub in ("paywall", None):
        with db.transaction(sessions) as session:
            articles.apply_reextraction(session, [(article_id, replace(record, stub=stub))])
        (article,) = _articles(sessions).values()
        stubs.append(article.stub)
    assert stubs == ["paywall", None]


FERRY = """<!DOCTYPE html>
<html lang="ru">
<head>
<title>Паром снова ходит на остров</title>
<meta name="description" content="После двух недель ремонта паром вернулся на линию.">
</head>
<body>
<main>
<article>
<h1>Паром снова ходит на остров</h1>
<p class="byline">Анна Смирнова</p>
<time datetime="2025-02-12">12 февраля 2025</time>
<p>После двух недель ремонта паром вернулся на линию и снова перевозит жителей острова
и их машины через пролив. Первый рейс ушёл в шесть утра, на борту было сорок пассажиров
и двенадцать автомобилей, сообщили в компании-перевозчике.</p>
<p>Ремонт понадобился после того, как в январе судно задело причал во время шторма.
Всё это время жители добирались на материк на небольшом катере, который не мог брать
машины, а в ветреные дни и вовсе не выходил в море.</p>
<p>Расписание осталось прежним: восемь рейсов в день в будни и шесть в выходные.
Перевозчик обещает, что до конца зимы второй паром будет стоять в резерве.</p>
</article>
</main>
</body>
</html>
"""


def _ferry_site(root: Path) -> Path:
    """One Russian article in windows-1251 whose charset only its Content-Type names."""
    (root / "news").mkdir(parents=True)
    (root / "index.html").write_text(
        '<html><body><a href="/news/2025/02/parom.html">Паром</a></body></html>',
        encoding="utf-8",
    )
    # no <meta charset>, and a suffix the server sends as it is (no placeholder pass)
    (root / "news" / "parom.cp1251").write_bytes(FERRY.encode("windows-1251"))
    routes = {
        "/news/2025/02/parom.html": {
            "file": "news/parom.cp1251",
            "content_type": "text/html; charset=windows-1251",
        }
    }
    (root / "_routes.json").write_text(json.dumps(routes), encoding="utf-8")
    return root


def test_a_page_whose_charset_only_its_content_type_names_reextracts_unchanged(
    cli: Cli, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with SiteServer(_ferry_site(tmp_path / "site"), offsite_host=None) as server:
        sources = write_sources(tmp_path / "sources.yaml", server.base_url, listings="[/]")
        crawled = cli.run("crawl", "site", "--sources", str(sources))
    assert crawled.returncode == 0, crawled.stdout + crawled.stderr
    (stored,) = _articles(sessions).values()
    assert stored.title == "Паром снова ходит на остров"
    assert "паром вернулся на линию" in stored.text

    done = cli.run("reextract", "--workers", "1", NEWSINGEST_SOURCES=str(sources))
    assert done.returncode == 0, done.stderr
    assert "1 pages: 0 changed (new version), 1 unchanged content, 0 rejected" in done.stdout
    (after,) = _articles(sessions).values()
    assert (after.version, after.title, after.text) == (1, stored.title, stored.text)
    with sessions() as session:
        assert session.execute(select(ArticleVersion)).scalars().all() == []
