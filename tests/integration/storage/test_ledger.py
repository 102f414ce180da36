"""The ledger's health facts (one query for every source) and run listing, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text, update
from sqlalchemy.orm import Session, sessionmaker

from storage import db, ledger, sources
from storage.failures import FailureRow, insert_failures
from storage.models import Article, CrawlRun
from storage.sources import SourceRow
from tests.integration.storage.test_articles import _record, _store

NOW = datetime.now(UTC)


def _run(
    session: Session,
    source_id: int,
    status: str,
    started: datetime,
    *,
    crawl_id: str | None = None,
    error: str | None = None,
) -> int:
    run_id = ledger.start_run(
        session, source_id=source_id, trigger="cli", host="h", pid=1, crawl_id=crawl_id
    )
    if status != "running":
        ledger.finish_run(session, run_id, status=status, stats={}, error=error)
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id)
            .values(started_at=started, finished_at=started + timedelta(minutes=1))
        )
    return run_id


def test_source_health_reports_each_source_with_its_last_run_success_failures_and_counts(
    sessions: sessionmaker[Session],
) -> None:
    with db.transaction(sessions) as session:
        alpha = sources.upsert_source(session, SourceRow(key="alpha", name="a", url="http://a/"))
        beta = sources.upsert_source(session, SourceRow(key="beta", name="b", url="http://b/"))
        _run(session, alpha, "succeeded", NOW - timedelta(hours=3))
        _run(session, alpha, "succeeded", NOW - timedelta(hours=2))
        last = _run(session, alpha, "failed", NOW - timedelta(hours=1))
        _run(session, alpha, "running", NOW)  # still running: not the last finished run
        insert_failures(
            session,
            [FailureRow(url=f"http://a/{i}", stage="fetch", reason="http_404", run_id=last)
             for i in range(3)],
        )  # fmt: skip
        holder = _run(session, beta, "running", NOW)
        _run(session, beta, "succeeded", NOW - timedelta(days=2), crawl_id="c1")
        _run(session, beta, "failed", NOW - timedelta(days=2), crawl_id="c1")
        skipped = _run(
            session,
            beta,
            "skipped",
            NOW - timedelta(minutes=5),
            error=f"source locked by run {holder}",
        )
    _store(sessions, _record("https://a.example/1"), _record("https://a.example/2", "Anders."))
    with db.transaction(sessions) as session:
        session.execute(text("update articles set source_id = :a"), {"a": alpha})
        session.execute(
            update(Article)
            .where(Article.url == "https://a.example/2")
            .values(first_seen_at=NOW - timedelta(days=3))
        )
    with sessions() as session:
        health = ledger.source_health(session, ["beta", "never", "alpha"], NOW)
    assert [h.key for h in health] == ["beta", "never", "alpha"]
    b, never, a = health
    assert (a.last_run_id, a.last_run_status, a.last_run_failures) == (last, "failed", 3)
    assert a.last_run_started_at == NOW - timedelta(hours=1)
    assert a.last_success_at == NOW - timedelta(hours=2) + timedelta(minutes=1)
    assert (a.articles_24h, a.articles_7d) == (1, 2)
    assert (a.last_crawl_id, a.last_crawl_statuses, a.last_run_locked_by) == (None, (), None)
    assert (b.last_run_id, b.last_run_status, b.last_run_locked_by) == (skipped, "skipped", holder)
    assert b.last_success_at == NOW - timedelta(days=2) + timedelta(minutes=1)
    assert never == ledger.SourceHealth("never", None, None, None, 0, None, 0, 0)


def test_source_health_gives_the_statuses_of_every_worker_run_of_the_last_crawl(
    sessions: sessionmaker[Session],
) -> None:
    with db.transaction(sessions) as session:
        sid = sources.upsert_source(session, SourceRow(key="d", name="d", url="http://d/"))
        _run(session, sid, "succeeded", NOW - timedelta(days=1), crawl_id="old")
        _run(session, sid, "succeeded", NOW - timedelta(minutes=3), crawl_id="new")
        _run(session, sid, "failed", NOW - timedelta(minutes=2), crawl_id="new")
        _run(session, sid, "running", NOW, crawl_id="new")
    with sessions() as session:
        (health,) = ledger.source_health(session, ["d"], NOW)
    assert health.last_crawl_id == "new"
    assert health.last_run_status == "failed"
    assert health.last_crawl_statuses == ("succeeded", "failed", "running")


def _plan(session: Session, sql: str, params: dict[str, object]) -> str:
    rows = session.execute(text("EXPLAIN " + sql), params).scalars()
    return "\n".join(rows)


def test_runs_and_health_read_the_runs_through_their_indexes(
    sessions: sessionmaker[Session],
) -> None:
    with db.transaction(sessions) as session:
        ids = [
            sources.upsert_source(session, SourceRow(key=f"s{i}", name="s", url="http://s/"))
            for i in range(50)
        ]
        session.execute(
            text(
                "insert into crawl_runs (source_id, trigger, host, pid, status, started_at,"
                " finished_at) select (CAST(:ids AS integer[]))[1 + g % 50], 'cli', 'h', 1,"
                " 'succeeded', now() - g * interval '1 minute', now() - g * interval '1 minute'"
                " from generate_series(1, 20000) g"
            ),
            {"ids": ids},
        )
        session.execute(text("analyze crawl_runs"))
    with sessions() as session:
        latest = _plan(
            session,
            "select * from crawl_runs order by started_at desc, id desc limit 20",
            {},
        )
        ingests = _plan(
            session,
            "select * from crawl_runs where kind = 'warc' order by started_at desc, id desc"
            " limit 1",
            {},
        )
        health = _plan(session, ledger._SOURCE_HEALTH.text, {
            "keys": ["s1", "s2"], "day_ago": NOW, "week_ago": NOW,
        })  # fmt: skip
        rows = ledger.recent_runs(session, limit=20)
    assert "Index Scan Backward using ix_crawl_runs_started_at_id" in latest
    assert "ix_crawl_runs_started_at_id_warc" in ingests
    assert "Seq Scan on crawl_runs" not in health
    assert "ix_crawl_runs_source_id_finished_at_succeeded" in health
    # (the articles counts' index: the cookbook test, with enough articles to matter)
    assert [run.started_at for run, _ in rows] == sorted(
        (run.started_at for run, _ in rows), reverse=True
    )
    with sessions() as session:
        (run, key), *_ = ledger.recent_runs(session, source_key="s7", limit=5)
    assert key == "s7" and run.source_id == ids[7]


def _daily(session: Session) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in session.execute(
            text(
                "select s.key, d.day, d.runs, d.runs_succeeded, d.runs_failed, d.pages,"
                " d.articles_inserted, d.articles_updated, d.failures"
                " from source_daily_stats d join sources s on s.id = d.source_id"
                " order by s.key, d.day"
            )
        )
    ]


def test_prune_deletes_old_runs_and_failures_keeping_daily_aggregates(
    sessions: sessionmaker[Session],
) -> None:
    old = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)
    stats = {"newsingest/fetch/articles": 5, "newsingest/store/inserted": 3, "x": "text"}
    with db.transaction(sessions) as session:
        sid = sources.upsert_source(session, SourceRow(key="a", name="a", url="http://a/"))
        first = _run(session, sid, "succeeded", old)
        second = _run(session, sid, "failed", old + timedelta(hours=2))
        recent = _run(session, sid, "succeeded", NOW - timedelta(days=1))
        running = _run(session, sid, "running", NOW)
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == running)
            .values(started_at=old - timedelta(days=1))  # a running run is never deleted
        )
        session.execute(update(CrawlRun).where(CrawlRun.id == first).values(stats=stats))
        insert_failures(
            session,
            [
                FailureRow(url="http://a/1", stage="fetch", reason="http_404",
                           source_id=sid, run_id=second),
                FailureRow(url="http://a/2", stage="fetch", reason="http_404",
                           source_id=sid, run_id=recent),
            ],
        )  # fmt: skip
        session.execute(
            text("update fetch_failures set occurred_at = :t where url = 'http://a/1'"),
            {"t": old},
        )
    cutoff = NOW - timedelta(days=30)
    with db.transaction(sessions) as session:
        dry = ledger.prune(session, runs_before=cutoff, failures_before=cutoff, dry_run=True)
        assert _daily(session) == []
    with db.transaction(sessions) as session:
        done = ledger.prune(session, runs_before=cutoff, failures_before=cutoff)
    assert (dry.runs, dry.failures) == (done.runs, done.failures) == (2, 1)
    with sessions() as session:
        left = set(session.execute(text("select id from crawl_runs")).scalars())
        failures = session.execute(text("select url, run_id from fetch_failures")).all()
        assert _daily(session) == [("a", old.date(), 2, 1, 1, 5, 3, 0, 1)]
    assert left == {recent, running}
    assert [tuple(f) for f in failures] == [("http://a/2", recent)]
    # A later prune adds to the same day's aggregates.
    with db.transaction(sessions) as session:
        _run(session, sid, "succeeded", old + timedelta(hours=5))
    with db.transaction(sessions) as session:
        ledger.prune(session, runs_before=cutoff, failures_before=cutoff)
        assert _daily(session) == [("a", old.date(), 3, 2, 1, 5, 3, 0, 1)]
