"""The crawl-run ledger: ``crawl_runs`` rows, health facts, retention, run details.

Functions take a session and never commit. The source locks, and the skipped runs
recorded when one is held, are `storage.locks`'.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.orm import Session

from crawler import stats as stat
from storage.locks import SKIPPED, skipped_holder
from storage.models import CrawlRun, FetchFailure, Source


def start_run(
    session: Session,
    *,
    source_id: int | None,
    trigger: str,
    host: str,
    pid: int,
    crawl_id: str | None = None,
    kind: str = "crawl",
) -> int:
    """Open a ``crawl_runs`` row with status ``running``; returns its id. ``kind``:
    ``crawl``, or ``warc`` for an ingest of archive files."""
    run = CrawlRun(
        source_id=source_id,
        trigger=trigger,
        host=host,
        pid=pid,
        crawl_id=crawl_id,
        status="running",
        stats={},
        kind=kind,
    )
    session.add(run)
    session.flush()
    return run.id


def finish_run(
    session: Session, run_id: int, *, status: str, stats: dict[str, Any], error: str | None = None
) -> bool:
    """Close a run still ``running`` with its final status and stats; False when another
    process had already finished it (marked it ``abandoned``): a finished run's status is
    never rewritten."""
    done = session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id, CrawlRun.status == "running")
        .values(status=status, stats=stats, error=error, finished_at=func.now())
        .returning(CrawlRun.id)
    ).all()
    return bool(done)


def get_run(session: Session, run_id: int) -> CrawlRun | None:
    """The run with ``run_id``."""
    return session.get(CrawlRun, run_id)


def recent_runs(session: Session, *, source_key: str | None = None, limit: int = 20) -> list[Any]:
    """Latest runs, newest first, with their source key (``ix_crawl_runs_started_at_id``
    read backwards; with ``source_key``, ``ix_crawl_runs_source_id_started_at``)."""
    stmt = (
        select(CrawlRun, Source.key)
        .outerjoin(Source, Source.id == CrawlRun.source_id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    if source_key:
        # A scalar subquery, not a filter on the join: the planner then reads the runs of
        # that source off ix_crawl_runs_source_id_started_at (else it may walk all runs).
        stmt = stmt.where(
            CrawlRun.source_id
            == select(Source.id).where(Source.key == source_key).scalar_subquery()
        )
    return list(session.execute(stmt))


def mark_abandoned(session: Session, host: str, is_alive: Callable[[int], bool]) -> int:
    """Mark ``running`` runs of ``host`` whose process is gone as ``abandoned``."""
    rows = session.execute(
        select(CrawlRun.id, CrawlRun.pid).where(CrawlRun.status == "running", CrawlRun.host == host)
    ).all()
    dead = [rid for rid, pid in rows if not is_alive(pid)]
    if dead:
        session.execute(
            update(CrawlRun)
            .where(CrawlRun.id.in_(dead))
            .values(status="abandoned", finished_at=func.now(), error="process gone")
        )
    return len(dead)


def latest_ingests(session: Session, *, limit: int = 1) -> list[Any]:
    """The newest archive ingests (``warc`` runs) with their source key (or None); the
    partial index ``ix_crawl_runs_started_at_id_warc`` holds them apart from the crawls."""
    stmt = (
        select(CrawlRun, Source.key)
        .outerjoin(Source, Source.id == CrawlRun.source_id)
        .where(CrawlRun.kind == "warc")
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    return list(session.execute(stmt))


def runs_of_crawl(session: Session, crawl_id: str) -> list[CrawlRun]:
    """The runs of one distributed crawl or archive ingest, oldest first (the partial
    index on ``crawl_id``)."""
    stmt = select(CrawlRun).where(CrawlRun.crawl_id == crawl_id).order_by(CrawlRun.id)
    return list(session.execute(stmt).scalars())


# --- scheduling and health -----------------------------------------------------------------
def mark_source_runs_abandoned(session: Session, source_id: int) -> int:
    """Mark every ``running`` run of a source abandoned (call while holding its lock)."""
    result = session.execute(
        update(CrawlRun)
        .where(CrawlRun.source_id == source_id, CrawlRun.status == "running")
        .values(status="abandoned", finished_at=func.now(), error="process gone")
    )
    return int(getattr(result, "rowcount", 0) or 0)


def last_success_starts(session: Session) -> dict[str, datetime]:
    """Start time of the last succeeded crawl (not archive ingest) of each source, by key."""
    rows = session.execute(
        select(Source.key, func.max(CrawlRun.started_at))
        .join(CrawlRun, CrawlRun.source_id == Source.id)
        .where(CrawlRun.status == "succeeded", CrawlRun.kind == "crawl")
        .group_by(Source.key)
    )
    return {key: started for key, started in rows}


@dataclass(frozen=True, slots=True)
class SourceHealth:
    """What `newsingest status` reports for one source."""

    key: str
    last_run_id: int | None
    last_run_status: str | None
    last_run_started_at: datetime | None
    last_run_failures: int
    last_success_at: datetime | None
    articles_24h: int
    articles_7d: int
    last_crawl_id: str | None = None
    last_crawl_statuses: tuple[str, ...] = ()
    last_run_locked_by: int | None = None
    """For a skipped last run: the run that held the source's lock (None if unknown)."""


_SOURCE_HEALTH = text("""
SELECT s.key, last.id, last.status, last.started_at, last.crawl_id, last.error,
       (SELECT max(c.finished_at) FROM crawl_runs AS c
        WHERE c.source_id = s.id AND c.status = 'succeeded' AND c.kind = 'crawl')
        AS last_success_at,
       (SELECT count(*) FROM fetch_failures AS f WHERE f.run_id = last.id) AS failures,
       (SELECT count(*) FROM articles AS a
        WHERE a.source_id = s.id AND a.first_seen_at > :day_ago) AS articles_24h,
       (SELECT count(*) FROM articles AS a
        WHERE a.source_id = s.id AND a.first_seen_at > :week_ago) AS articles_7d,
       (SELECT array_agg(w.status ORDER BY w.id) FROM crawl_runs AS w
        WHERE w.crawl_id = last.crawl_id) AS crawl_statuses
FROM sources AS s
LEFT JOIN LATERAL (
    SELECT r.id, r.status, r.started_at, r.crawl_id, r.error FROM crawl_runs AS r
    WHERE r.source_id = s.id AND r.status <> 'running' AND r.kind = 'crawl'
    ORDER BY r.started_at DESC, r.id DESC
    LIMIT 1
) AS last ON true
WHERE s.key = ANY(CAST(:keys AS text[]))
""")
"""`source_health` in one statement: per source, index probes only. The last finished
run walks ``ix_crawl_runs_source_id_started_at`` backwards, the last success reads
``ix_crawl_runs_source_id_finished_at_succeeded``, the article counts are ranges of
``ix_articles_source_id_first_seen_at``, the crawl's worker runs
``ix_crawl_runs_crawl_id`` and the failures ``ix_fetch_failures_run_id`` (migration 0010;
was five queries per source, 7.3 s for 500 sources at 817,000 articles). Only crawls
count (``kind = 'crawl'``): a backfill from archives says nothing of a source's health."""


def source_health(session: Session, keys: Sequence[str], now: datetime) -> list[SourceHealth]:
    """Ledger facts for each of ``keys`` (sources never crawled included), in one query."""
    found = {
        row.key: row
        for row in session.execute(
            _SOURCE_HEALTH,
            {
                "keys": list(keys),
                "day_ago": now - timedelta(days=1),
                "week_ago": now - timedelta(days=7),
            },
        )
    }
    out: list[SourceHealth] = []
    for key in keys:
        row = found.get(key)
        if row is None:
            out.append(SourceHealth(key, None, None, None, 0, None, 0, 0))
            continue
        out.append(
            SourceHealth(
                key=key,
                last_run_id=row.id,
                last_run_status=row.status,
                last_run_started_at=row.started_at,
                last_run_failures=int(row.failures),
                last_success_at=row.last_success_at,
                articles_24h=int(row.articles_24h),
                articles_7d=int(row.articles_7d),
                last_crawl_id=row.crawl_id,
                last_crawl_statuses=tuple(row.crawl_statuses or ()),
                last_run_locked_by=skipped_holder(row.error) if row.status == SKIPPED else None,
            )
        )
    return out


# --- retention -----------------------------------------------------------------------------
def _stat(name: str) -> str:
    """Sum of the integer stat ``name`` of the selected runs (0 where absent or not a number)."""
    value = f"stats -> '{name}'"
    return (
        f"coalesce(sum(CASE WHEN jsonb_typeof({value}) = 'number'"
        f" THEN ({value})::numeric::bigint END), 0)"
    )


_AGGREGATE_RUNS = text(f"""
INSERT INTO source_daily_stats AS d (source_id, day, runs, runs_succeeded, runs_failed, pages,
                                     articles_inserted, articles_updated)
SELECT source_id, (started_at AT TIME ZONE 'UTC')::date, count(*),
       count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'),
       {_stat(stat.FETCH_ARTICLES)}, {_stat(stat.STORE_INSERTED)},
       {_stat(stat.STORE_UPDATED)}
FROM crawl_runs
WHERE started_at < :cutoff AND status <> 'running' AND source_id IS NOT NULL
GROUP BY 1, 2
ON CONFLICT (source_id, day) DO UPDATE SET
    runs = d.runs + EXCLUDED.runs,
    runs_succeeded = d.runs_succeeded + EXCLUDED.runs_succeeded,
    runs_failed = d.runs_failed + EXCLUDED.runs_failed,
    pages = d.pages + EXCLUDED.pages,
    articles_inserted = d.articles_inserted + EXCLUDED.articles_inserted,
    articles_updated = d.articles_updated + EXCLUDED.articles_updated
""")

_AGGREGATE_FAILURES = text("""
INSERT INTO source_daily_stats AS d (source_id, day, failures)
SELECT source_id, (occurred_at AT TIME ZONE 'UTC')::date, count(*)
FROM fetch_failures
WHERE occurred_at < :cutoff AND source_id IS NOT NULL
GROUP BY 1, 2
ON CONFLICT (source_id, day) DO UPDATE SET failures = d.failures + EXCLUDED.failures
""")


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What `prune` deleted (or, dry, would delete)."""

    runs: int
    failures: int


def prune(
    session: Session, *, runs_before: datetime, failures_before: datetime, dry_run: bool = False
) -> PruneResult:
    """Delete finished ``crawl_runs`` started before ``runs_before`` and ``fetch_failures``
    that occurred before ``failures_before``, after adding them up per source and UTC day
    into ``source_daily_stats`` (runs, successes, failures, pages, new and updated
    articles, failures), all in the caller's transaction. Running runs stay. Rows of a
    deleted source (``source_id`` NULL) are deleted without an aggregate. Pages and
    failures of a deleted run keep their rows (``run_id`` becomes NULL).
    ``dry_run``: count only."""
    runs_where = (CrawlRun.started_at < runs_before, CrawlRun.status != "running")
    failures_where = (FetchFailure.occurred_at < failures_before,)
    if dry_run:
        runs = session.execute(select(func.count()).where(*runs_where)).scalar_one()
        failures = session.execute(select(func.count()).where(*failures_where)).scalar_one()
        return PruneResult(int(runs), int(failures))
    session.execute(_AGGREGATE_FAILURES, {"cutoff": failures_before})
    deleted_failures = session.execute(delete(FetchFailure).where(*failures_where))
    session.execute(_AGGREGATE_RUNS, {"cutoff": runs_before})
    deleted_runs = session.execute(delete(CrawlRun).where(*runs_where))
    return PruneResult(
        int(getattr(deleted_runs, "rowcount", 0) or 0),
        int(getattr(deleted_failures, "rowcount", 0) or 0),
    )


# --- metrics --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunDetails:
    """A run's stats and its fetch failures counted by stage and reason."""

    run_id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    stats: dict[str, Any]
    failures: dict[tuple[str, str], int]


def run_details(session: Session, run_ids: Sequence[int]) -> dict[int, RunDetails]:
    """Stats and failures by reason of ``run_ids`` (``pk_crawl_runs`` and
    ``ix_fetch_failures_run_id``)."""
    ids = sorted(set(run_ids))
    if not ids:
        return {}
    failures: dict[int, dict[tuple[str, str], int]] = {i: {} for i in ids}
    for run_id, stage, reason, n in session.execute(
        select(FetchFailure.run_id, FetchFailure.stage, FetchFailure.reason, func.count())
        .where(FetchFailure.run_id.in_(ids))
        .group_by(FetchFailure.run_id, FetchFailure.stage, FetchFailure.reason)
    ):
        if run_id is not None:
            failures[run_id][(stage, reason)] = int(n)
    out = {}
    for run in session.execute(select(CrawlRun).where(CrawlRun.id.in_(ids))).scalars():
        out[run.id] = RunDetails(
            run.id, run.status, run.started_at, run.finished_at, dict(run.stats), failures[run.id]
        )
    return out
