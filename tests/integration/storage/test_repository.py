"""Repository against the real PostgreSQL: upserts, versions, pages, failures, runs."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.extraction.record import ArticleRecord, TranslationNote
from storage import db, ledger, repository
from storage.models import Article, ArticleVersion, CrawlRun, FetchFailure
from storage.repository import FailureRow, SourceRow, StoredArticle, StoredPage

NOW = datetime(2025, 2, 14, 7, 30, tzinfo=UTC)


def _record(url: str = "https://news.example/a", body: str = "Erster Absatz.") -> ArticleRecord:
    import hashlib

    return ArticleRecord(
        url=url,
        text=body,
        content_hash=hashlib.sha256(body.encode()).hexdigest(),
        simhash=-42,
        word_count=len(body.split()),
        extractor_version="test",
        title="Hafen steht still",
        lead="Ein Streik legt den Hafen lahm.",
        authors=("Anna Beispiel", "Boris Muster"),
        byline="Von Anna Beispiel und Boris Muster (agentur)",
        published_at=datetime(2025, 2, 1, tzinfo=UTC),
        published_precision="month",
        published_raw="2025-02",
        language="de",
        language_confidence=0.99,
        declared_language="de",
        translation=TranslationNote(
            note="Übersetzt aus dem Russischen.",
            source_language="ru",
            original_outlet="Wetscherni Majak",
            original_published_at=datetime(2025, 2, 11, tzinfo=UTC),
        ),
        tags=("Hafen", "Streik"),
        fetched_at=NOW,
    )


def _store(sessions: sessionmaker[Session], *records: ArticleRecord) -> repository.UpsertResult:
    with db.transaction(sessions) as session:
        source_id = repository.upsert_source(
            session, SourceRow(key="src", name="Source", url="https://news.example/")
        )
        return repository.upsert_articles(
            session, [StoredArticle(record=r, source_id=source_id) for r in records]
        )


def test_new_article_is_inserted_with_every_record_field(sessions: sessionmaker[Session]) -> None:
    result = _store(sessions, _record())
    assert (result.inserted, result.updated, result.unchanged) == (1, 0, 0)
    with sessions() as session:
        article = session.execute(select(Article)).scalar_one()
    assert article.version == 1
    assert article.authors == ["Anna Beispiel", "Boris Muster"]
    assert article.published_precision == "month"
    assert article.translation_source_language == "ru"
    assert article.translation_original_outlet == "Wetscherni Majak"
    assert article.simhash == -42
    assert article.tags == ["Hafen", "Streik"]


def test_reupsert_unchanged_keeps_version_and_moves_last_seen(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, _record())
    with sessions() as session:
        first = session.execute(select(Article.last_seen_at)).scalar_one()
    result = _store(sessions, _record())
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 1)
    with sessions() as session:
        article = session.execute(select(Article)).scalar_one()
        versions = session.execute(select(ArticleVersion)).scalars().all()
    assert article.version == 1
    assert article.last_seen_at > first
    assert versions == []


def test_reupsert_with_changed_body_adds_version(sessions: sessionmaker[Session]) -> None:
    _store(sessions, _record(body="Erster Absatz."))
    result = _store(sessions, _record(body="Erster Absatz, korrigiert."))
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
    with sessions() as session:
        article = session.execute(select(Article)).scalar_one()
        (old,) = session.execute(select(ArticleVersion)).scalars().all()
    assert article.version == 2
    assert article.text == "Erster Absatz, korrigiert."
    assert (old.version, old.text, old.article_id) == (1, "Erster Absatz.", article.id)


def test_batch_with_one_url_twice_is_merged_and_counted(sessions: sessionmaker[Session]) -> None:
    result = _store(sessions, _record(body="alt"), _record(body="neu"))
    assert result.merged == 1
    assert result.inserted == 1
    with sessions() as session:
        assert session.execute(select(Article.text)).scalar_one() == "neu"


def test_page_html_is_stored_compressed_and_found_by_requested_url(
    sessions: sessionmaker[Session],
) -> None:
    html = "<html><body>" + "<p>Absatz</p>" * 500 + "</body></html>"
    page = StoredPage(
        requested_url="https://news.example/a?utm_source=x",
        final_url="https://news.example/a",
        status=200,
        content_type="text/html",
        html=html.encode(),
        fetched_at=NOW,
    )
    with db.transaction(sessions) as session:
        ids = repository.upsert_articles(
            session, [StoredArticle(record=_record(), source_id=None, page=page)]
        ).ids
    with sessions() as session:
        assert repository.page_html(session, ids["https://news.example/a"]) == html.encode()
        size = session.execute(text("select length(html_zlib) from pages")).scalar_one()
        found = repository.stored_urls(
            session, ["https://news.example/a?utm_source=x", "https://news.example/other"]
        )
    assert size < len(html) / 5
    assert found == {"https://news.example/a?utm_source=x"}


def test_failures_are_recorded_with_stage_reason_and_run(sessions: sessionmaker[Session]) -> None:
    with db.transaction(sessions) as session:
        run_id = ledger.start_run(session, source_id=None, trigger="cli", host="h", pid=1)
        repository.insert_failures(
            session,
            [
                FailureRow(
                    url="https://x/404", stage="fetch", reason="http_404", status=404, run_id=run_id
                )
            ],
        )
    with sessions() as session:
        failure = session.execute(select(FetchFailure)).scalar_one()
    assert (failure.reason, failure.status, failure.run_id) == ("http_404", 404, run_id)


def test_running_run_of_a_dead_process_is_marked_abandoned(sessions: sessionmaker[Session]) -> None:
    with db.transaction(sessions) as session:
        dead = ledger.start_run(session, source_id=None, trigger="cli", host="h", pid=111)
        alive = ledger.start_run(session, source_id=None, trigger="cli", host="h", pid=222)
        other_host = ledger.start_run(session, source_id=None, trigger="cli", host="x", pid=111)
        assert ledger.mark_abandoned(session, "h", lambda pid: pid == 222) == 1
    with sessions() as session:
        status = dict(session.execute(select(CrawlRun.id, CrawlRun.status)).all())
    assert status == {dead: "abandoned", alive: "running", other_host: "running"}


def test_full_text_search_config_follows_the_articles_language(
    sessions: sessionmaker[Session],
) -> None:
    german = replace(_record(url="https://news.example/de"), title="Die Hafenarbeiter streiken")
    unknown = replace(german, url="https://news.example/xx", language=None)
    _store(sessions, german, unknown)
    query = text("select url from articles where search_vector @@ to_tsquery('simple', 'die')")
    with sessions() as session:
        with_stopword = set(session.execute(query).scalars())
    # the german configuration drops the stop word "die"; the simple one keeps it
    assert with_stopword == {"https://news.example/xx"}


def test_concurrent_upserts_of_one_url_leave_one_consistent_row(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, _record(body="v0"))
    errors: list[BaseException] = []

    def writer(body: str) -> None:
        try:
            for i in range(10):
                _store(sessions, _record(body=f"{body}-{i}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with sessions() as session:
        (article,) = session.execute(select(Article)).scalars().all()
        versions = session.execute(select(ArticleVersion.version)).scalars().all()
    assert article.version == 21
    assert sorted(versions) == list(range(1, 21))
