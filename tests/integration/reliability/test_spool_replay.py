"""Spool replay against the real database: idempotent, poison records contained, damaged
files set aside after their good lines, run outcomes applied, one replayer per file."""

from __future__ import annotations

import fcntl
import hashlib
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from crawler import spool
from crawler.extraction.record import ArticleRecord, TranslationNote
from storage import db, ledger, sources
from storage.articles import StoredArticle
from storage.failures import FailureRow
from storage.models import Article, CrawlRun, FetchFailure, Page
from storage.pages import StoredPage
from storage.sources import SourceRow
from storage.writes import (
    PendingArticle,
    PendingFailure,
    write_entries,
)
from tests.integration.conftest import Cli

WHEN = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _article(n: int, text: str | None = None, run_id: int | None = None) -> PendingArticle:
    body = text or f"Article {n} says something about the harbour and the council."
    record = ArticleRecord(
        url=f"http://127.0.0.1/a/{n}.html",
        text=body,
        content_hash=f"{n:064d}",
        simhash=n,
        word_count=len(body.split()),
        extractor_version="test",
        title=f"Title {n}",
        translation=TranslationNote(note="Aus dem Russischen.", source_language="ru"),
        fetched_at=WHEN,
    )
    page = StoredPage(
        requested_url=record.url, final_url=record.url, status=200,
        content_type="text/html", html=f"<p>{n}</p>".encode(), fetched_at=WHEN,
    )  # fmt: skip
    return PendingArticle(None, StoredArticle(record=record, source_id=None, page=page,
                                              run_id=run_id))  # fmt: skip


def _failure(n: int, run_id: int | None = None) -> PendingFailure:
    return PendingFailure(
        None, FailureRow(url=f"http://127.0.0.1/f/{n}", stage="fetch", reason="timeout",
                         detail="d", run_id=run_id)
    )  # fmt: skip


def _counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as session:
        return (
            int(session.execute(select(func.count()).select_from(Article)).scalar_one()),
            int(session.execute(select(func.count()).select_from(Page)).scalar_one()),
            int(session.execute(select(func.count()).select_from(FetchFailure)).scalar_one()),
        )


def _run(sessions: sessionmaker[Session]) -> int:
    with db.transaction(sessions) as session:
        return ledger.start_run(session, source_id=None, trigger="test", host="h", pid=1)


def test_replaying_the_same_file_twice_stores_everything_once(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    run_id = _run(sessions)
    entries: list[spool.Entry] = [
        *(_article(i, run_id=run_id) for i in range(3)),
        _failure(1, run_id),
        _failure(1, run_id),  # the same failure twice in one batch
    ]
    path = spool.write_batch(tmp_path, entries, "db down")
    copy = path.read_bytes()
    report = spool.replay(tmp_path, sessions)
    assert (report.files, report.articles) == (1, 3)
    assert report.by_run == {run_id: (3, 2)}
    assert not path.exists()
    assert _counts(sessions) == (3, 3, 1)
    path.write_bytes(copy)  # as if the process died between the commit and the delete
    spool.replay(tmp_path, sessions)
    assert _counts(sessions) == (3, 3, 1)
    with sessions() as session:
        versions = set(session.execute(select(Article.version)).scalars())
        note = session.execute(select(Article.translation_note)).scalars().first()
    assert versions == {1}
    assert note == "Aus dem Russischen."


def test_a_record_the_database_refuses_becomes_a_store_failure_and_the_rest_is_stored(
    sessions: sessionmaker[Session],
) -> None:
    poisoned = _article(2, text="A NUL \x00 byte PostgreSQL text cannot hold.")
    result = write_entries(sessions, [_article(1), poisoned, _article(3)], [_failure(9)])
    assert result.rejected == 1
    assert result.upsert.inserted == 2
    with sessions() as session:
        urls = set(session.execute(select(Article.url)).scalars())
        store = session.execute(
            select(FetchFailure).where(FetchFailure.stage == "store")
        ).scalar_one()
    assert urls == {"http://127.0.0.1/a/1.html", "http://127.0.0.1/a/3.html"}
    assert store.url == "http://127.0.0.1/a/2.html"
    assert store.reason == "store_error"
    assert "DataError" in (store.detail or "") or "NUL" in (store.detail or "")


def test_a_torn_file_has_its_good_lines_replayed_and_is_set_aside(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = spool.write_batch(tmp_path, [_article(1), _article(2)], "db down")
    raw = path.read_bytes()
    path.write_bytes(raw[:-30])  # the second line cut off
    report = spool.replay(tmp_path, sessions)
    assert [p.name for p in report.damaged] == [path.name]
    assert (tmp_path / "spool" / "damaged" / path.name).exists()
    assert _counts(sessions)[0] == 1
    assert spool.pending(tmp_path) == []
    assert spool.status(tmp_path).damaged_files  # still reported until someone looks


def test_a_spooled_run_outcome_closes_a_run_left_running_or_abandoned_only(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    left_running, done = _run(sessions), _run(sessions)
    with db.transaction(sessions) as session:
        ledger.finish_run(session, done, status="succeeded", stats={})
    for run_id in (left_running, done):
        spool.write_run_finish(tmp_path, run_id, "failed", {"x": 1}, "database down at close")
    report = spool.replay(tmp_path, sessions)
    assert report.runs_finished == 1
    with sessions() as session:
        status = {rid: st for rid, st in session.execute(select(CrawlRun.id, CrawlRun.status))}
        run = session.get(CrawlRun, left_running)
    assert status == {left_running: "failed", done: "succeeded"}
    assert run is not None and run.stats == {"x": 1} and run.finished_at is not None


def test_a_file_another_process_is_replaying_is_left_alone(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    path = spool.write_batch(tmp_path, [_article(1)], "db down")
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        report = spool.replay(tmp_path, sessions)
    finally:
        os.close(fd)
    assert (report.busy, report.files) == (1, 0)
    assert path.exists()
    assert spool.replay(tmp_path, sessions).files == 1


def test_entries_of_a_run_that_no_longer_exists_are_stored_without_it(
    sessions: sessionmaker[Session],
) -> None:
    art = _article(1, run_id=999_999)
    result = write_entries(sessions, [art], [_failure(1)])
    assert result.upsert.inserted == 1 and result.failures == 1
    with sessions() as session:
        assert session.execute(select(Page.run_id)).scalar_one() is None


def test_a_url_too_long_for_the_index_is_a_store_failure_not_an_endless_spool(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    long = _article(1)
    noise = hashlib.sha256(b"seed").hexdigest()
    for _ in range(200):  # incompressible, past the btree limit of the url index
        noise += hashlib.sha256(noise[-64:].encode()).hexdigest()
    record = replace(long.article.record, url="http://127.0.0.1/a/" + noise)
    huge = replace(long, article=replace(long.article, record=record))
    spool.write_batch(tmp_path, [huge, _article(2)], "db down")
    report = spool.replay(tmp_path, sessions)
    assert (report.files, report.rejected) == (1, 1)
    assert spool.pending(tmp_path) == []
    with sessions() as session:
        assert session.execute(select(Article.url)).scalar_one() == "http://127.0.0.1/a/2.html"
        reason = session.execute(select(FetchFailure.reason)).scalar_one()
    assert reason == "store_error"


def test_spool_status_reports_a_torn_last_line(cli: Cli) -> None:
    path = spool.write_batch(cli.data_dir, [_failure(1), _article(1)], "db down")
    path.write_bytes(path.read_bytes()[:-40])
    result = cli.run("spool", "status")
    assert result.returncode == 1
    assert "TORN last line" in result.stdout
    assert "pending: 1 files, 0 articles, 1 failures" in result.stdout
    assert "damaged: 1 files" in result.stdout


def test_records_of_an_unregistered_source_stay_in_the_spool_until_it_is_registered(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    # what a crawl with read-only credentials leaves: it could not register its source
    ghost = replace(_article(1), source_key="ghost")
    spool.write_batch(tmp_path, [ghost, _article(2), replace(_failure(3), source_key="ghost")],
                      "permission denied")  # fmt: skip
    report = spool.replay(tmp_path, sessions)
    with sessions() as session:
        assert session.execute(select(Article.url)).scalars().all() == [
            _article(2).article.record.url
        ]
    assert report.kept == 2
    (kept,) = spool.pending(tmp_path)
    assert "ghost is not registered" in kept.read_text(encoding="utf-8")
    assert spool.replay(tmp_path, sessions).kept == 2  # still no source: still kept
    with db.transaction(sessions) as session:
        ghost_id = sources.upsert_source(session, SourceRow("ghost", "Ghost", "http://g/"))
    spool.replay(tmp_path, sessions)
    assert spool.pending(tmp_path) == []
    with sessions() as session:
        stored = session.execute(select(Article.source_id).where(Article.url.like("%/1.html")))
        assert stored.scalar_one() == ghost_id
        assert session.execute(select(FetchFailure.source_id)).scalar_one() == ghost_id


def test_a_finished_run_is_never_rewritten_by_its_late_crawl(
    sessions: sessionmaker[Session],
) -> None:
    # run 1 lost its lock; run 2 took the source and marked run 1 abandoned
    with db.transaction(sessions) as session:
        source = sources.upsert_source(session, SourceRow("s", "S", "http://127.0.0.1/"))
        first = ledger.start_run(session, source_id=source, trigger="t", host="h", pid=1)
        ledger.mark_source_runs_abandoned(session, source)
    with db.transaction(sessions) as session:
        assert not ledger.finish_run(session, first, status="succeeded", stats={"x": 1})
    with sessions() as session:
        run = session.get(CrawlRun, first)
        assert run is not None and (run.status, run.stats) == ("abandoned", {})
