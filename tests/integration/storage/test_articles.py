"""Repository against the real PostgreSQL: upserts, versions, pages, failures, runs."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from crawler.extraction.record import ArticleRecord, TranslationNote
from storage import articles, db, failures, ledger, pages, sources
from storage.articles import StoredArticle
from storage.export import iter_feed
from storage.failures import FailureRow
from storage.models import Article, ArticleVersion, CrawlRun, FetchFailure
from storage.pages import StoredPage
from storage.sources import SourceRow

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


def _store(sessions: sessionmaker[Session], *records: ArticleRecord) -> articles.UpsertResult:
    with db.transaction(sessions) as session:
        source_id = sources.upsert_source(
            session, SourceRow(key="src", name="Source", url="https://news.example/")
        )
        return articles.upsert_articles(
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
        ids = articles.upsert_articles(
            session, [StoredArticle(record=_record(), source_id=None, page=page)]
        ).ids
    with sessions() as session:
        assert pages.page_html(session, ids["https://news.example/a"]) == html.encode()
        size = session.execute(text("select length(html_zlib) from pages")).scalar_one()
        found = articles.stored_urls(
            session, ["https://news.example/a?utm_source=x", "https://news.example/other"]
        )
    assert size < len(html) / 5
    assert found == {"https://news.example/a?utm_source=x"}


def test_failures_are_recorded_with_stage_reason_and_run(sessions: sessionmaker[Session]) -> None:
    with db.transaction(sessions) as session:
        run_id = ledger.start_run(session, source_id=None, trigger="cli", host="h", pid=1)
        failures.insert_failures(
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


def test_merging_the_search_index_empties_its_pending_list_and_the_articles_stay_found(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, replace(_record(), title="Die Hafenarbeiter streiken"))
    query = text(
        "select count(*) from articles where search_vector @@ to_tsquery('german', 'hafenarbeiter')"
    )
    with db.transaction(sessions) as session:
        assert articles.merge_search_entries(session) > 0  # the new entries were pending
    with db.transaction(sessions) as session:
        assert articles.merge_search_entries(session) == 0
        assert session.execute(query).scalar_one() == 1


def test_the_search_index_pending_list_holds_16_mb(sessions: sessionmaker[Session]) -> None:
    # room for the store pipeline's merges (NEWSINGEST_SEARCH_MERGE_ARTICLES, ~8 MB)
    with sessions() as session:
        options = (
            session.execute(
                text(
                    "select reloptions from pg_class"
                    " where relname like 'ix\\_articles\\_search\\_vector\\_%'"
                )
            )
            .scalars()
            .all()
        )
    assert options == [["gin_pending_list_limit=16384"]]


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


def test_authors_and_tags_with_quotes_commas_and_backslashes_round_trip(
    sessions: sessionmaker[Session],
) -> None:
    odd = ('Anna "die Reporterin" Beispiel', "Müller, Boris", "C:\\Pfad", "{Klammer}", "NULL", "")
    record = replace(_record(), authors=odd, tags=())
    other = replace(_record(url="https://news.example/b"), authors=(), tags=odd)
    _store(sessions, record, other)
    with sessions() as session:
        rows = dict(session.execute(select(Article.url, Article.authors)).all())
        tags = dict(session.execute(select(Article.url, Article.tags)).all())
    assert rows == {"https://news.example/a": list(odd), "https://news.example/b": []}
    assert tags == {"https://news.example/a": [], "https://news.example/b": list(odd)}


def test_changed_reupsert_replaces_every_record_column_and_the_search_vector(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, _record(body="Der Hafen ist offen."))
    changed = replace(
        _record(body="Die Werft schliesst."),
        title="Werft zu",
        lead="Keine Schiffe mehr.",
        authors=("Clara Neu",),
        modified_at=NOW,
        translation=None,
    )
    result = _store(sessions, changed)
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 0)
    match = text("select count(*) from articles where search_vector @@ to_tsquery('german', :q)")
    with sessions() as session:
        article = session.execute(select(Article)).scalar_one()
        assert session.execute(match, {"q": "werft"}).scalar_one() == 1
        assert session.execute(match, {"q": "hafen"}).scalar_one() == 0
    assert (article.title, article.authors, article.modified_at) == ("Werft zu", ["Clara Neu"], NOW)
    assert article.translation_note is None
    assert article.version == 2


def test_unchanged_reupsert_is_a_hot_update_that_keeps_the_stored_page(
    sessions: sessionmaker[Session],
) -> None:
    page = StoredPage(
        requested_url="https://news.example/a",
        final_url="https://news.example/a",
        status=200,
        content_type="text/html",
        html=b"<html><body><p>erste Fassung</p></body></html>",
        fetched_at=NOW,
    )
    records = [_record(url=f"https://news.example/{i}", body=f"Text {i}.") for i in range(20)]
    with db.transaction(sessions) as session:
        articles.upsert_articles(session, [StoredArticle(r, None, page) for r in records])
    later = replace(page, html=b"<html><body><p>zweite Fassung</p></body></html>")
    hot = text("select pg_stat_get_xact_tuples_hot_updated('articles'::regclass)")
    with db.transaction(sessions) as session:
        # the counter may include earlier, unflushed transactions of this connection
        before = session.execute(hot).scalar_one()
        result = articles.upsert_articles(session, [StoredArticle(r, None, later) for r in records])
        hot_updates = session.execute(hot).scalar_one() - before
        html = pages.page_html(session, result.ids["https://news.example/3"])
    assert result.unchanged == 20
    # fillfactor 50 (migration 0005): the touch of last_seen_at stays on the heap page
    assert hot_updates == 20
    assert html == page.html


def test_batch_mixing_new_changed_and_unchanged_articles_counts_and_stores_each(
    sessions: sessionmaker[Session],
) -> None:
    def page(url: str, html: bytes) -> StoredPage:
        return StoredPage(url, url, 200, "text/html", html, NOW)

    old = [_record(url=f"https://news.example/{i}", body=f"Alt {i}.") for i in range(3)]
    with db.transaction(sessions) as session:
        articles.upsert_articles(
            session, [StoredArticle(r, None, page(r.url, b"<p>v1</p>")) for r in old]
        )
    batch = [
        old[0],  # unchanged
        _record(url=old[1].url, body="Neu 1."),  # changed
        _record(url="https://news.example/new", body="Ganz neu."),  # new
    ]
    with db.transaction(sessions) as session:
        result = articles.upsert_articles(
            session, [StoredArticle(r, None, page(r.url, b"<p>v2</p>")) for r in batch]
        )
        htmls = {url: pages.page_html(session, i) for url, i in result.ids.items()}
    assert (result.inserted, result.updated, result.unchanged) == (1, 1, 1)
    assert set(result.ids) == {r.url for r in batch}
    assert htmls == {
        old[0].url: b"<p>v1</p>",
        old[1].url: b"<p>v2</p>",
        "https://news.example/new": b"<p>v2</p>",
    }


def test_a_refused_batch_raises_sqlalchemys_error_not_the_drivers(
    sessions: sessionmaker[Session],
) -> None:
    # writes.is_transient_db_error classifies SQLAlchemy's wrapped errors
    bad = replace(_record(), published_precision="century")  # type: ignore[arg-type]
    with pytest.raises(sa_exc.IntegrityError) as caught:
        _store(sessions, bad)
    assert getattr(caught.value.orig, "sqlstate", None) == "23514"


def test_credits_and_utc_offset_are_stored_and_read_back_through_the_repository_and_the_feed(
    sessions: sessionmaker[Session],
) -> None:
    record = replace(_record(), credits=("dpa", "AFP"), published_utc_offset=540)
    bare = _record(url="https://news.example/b")
    _store(sessions, record, bare)
    with sessions() as session:
        stored = {
            url: (credits, offset)
            for url, credits, offset in session.execute(
                select(Article.url, Article.credits, Article.published_utc_offset)
            )
        }
        feed = {
            row["url"]: (row["credits"], row["published_utc_offset"]) for row in iter_feed(session)
        }
    expected = {
        "https://news.example/a": (["dpa", "AFP"], 540),
        "https://news.example/b": ([], None),
    }
    assert stored == expected
    assert feed == expected


def test_changed_reupsert_writes_new_credits_and_offset_and_archives_the_old_ones(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, replace(_record(body="Alt."), credits=("dpa",), published_utc_offset=60))
    changed = replace(
        _record(body="Neu."), credits=("Reuters", "Redaktion"), published_utc_offset=-300
    )
    result = _store(sessions, changed)
    assert result.updated == 1
    with sessions() as session:
        article = session.execute(select(Article)).scalar_one()
        (old,) = session.execute(select(ArticleVersion)).scalars().all()
    assert (article.credits, article.published_utc_offset) == (["Reuters", "Redaktion"], -300)
    assert (old.credits, old.published_utc_offset) == (["dpa"], 60)


def test_utc_offset_beyond_18_hours_is_refused_by_the_check_constraint(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, replace(_record(), published_utc_offset=1080))
    with pytest.raises(sa_exc.IntegrityError, match="ck_articles_published_utc_offset"):
        _store(sessions, replace(_record(url="https://news.example/b"), published_utc_offset=1081))


def test_stub_is_stored_and_read_back_through_the_repository_and_the_feed(
    sessions: sessionmaker[Session],
) -> None:
    paywalled = replace(_record(), stub="paywall")
    video = replace(_record(url="https://news.example/v", body="Das Video zeigt."), stub="video")
    full = _record(url="https://news.example/b", body="Ganzer Text.")
    _store(sessions, paywalled, video, full)
    with sessions() as session:
        stored = {url: stub for url, stub in session.execute(select(Article.url, Article.stub))}
        feed = {row["url"]: row["stub"] for row in iter_feed(session)}
    expected = {
        "https://news.example/a": "paywall",
        "https://news.example/v": "video",
        "https://news.example/b": None,
    }
    assert stored == expected
    assert feed == expected


def test_changed_reupsert_writes_the_new_stub_and_archives_the_old_one(
    sessions: sessionmaker[Session],
) -> None:
    _store(sessions, replace(_record(body="Nur der Vorspann."), stub="paywall"))
    result = _store(sessions, _record(body="Der ganze Artikel, frei."))
    assert result.updated == 1
    with sessions() as session:
        article = session.execute(select(Article)).scalar_one()
        (old,) = session.execute(select(ArticleVersion)).scalars().all()
    assert (article.version, article.stub) == (2, None)
    assert (old.version, old.stub) == (1, "paywall")


def test_a_stub_kind_other_than_paywall_or_video_is_refused_by_the_check_constraint(
    sessions: sessionmaker[Session],
) -> None:
    bad = replace(_record(), stub="audio")  # type: ignore[arg-type]
    with pytest.raises(sa_exc.IntegrityError, match="ck_articles_stub"):
        _store(sessions, bad)
