"""The crawl-run ledger: ``crawl_runs`` rows, per-source advisory locks, health facts.

Functions take a session and never commit, except the lock helpers, which own a
dedicated connection for as long as a crawl holds the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.orm import Session

from storage.models import Article, CrawlRun, FetchFailure, Source


def start_run(
    session: Session,
    *,
    source_id: int | None,
    trigger: str,
    host: str,
    pid: int,
    crawl_id: str | None = None,
) -> int:
    """Open a ``crawl_runs`` row with status ``running``; returns its id."""
    run = CrawlRun(
        source_id=source_id,
        trigger=trigger,
        host=host,
        pid=pid,
        crawl_id=crawl_id,
        status="running",
        stats={},
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
    """Latest runs, newest first, with their source key."""
    stmt = (
        select(CrawlRun, Source.key)
        .outerjoin(Source, Source.id == CrawlRun.source_id)
        .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
        .limit(limit)
    )
    if source_key:
        stmt = stmt.where(Source.key == source_key)
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


# --- advisory locks: one crawl of a source at a time -------------------------------------
LOCK_NAMESPACE = "newsingest:source:"


def try_lock_source(engine: Engine, key: str, *, shared: bool = False) -> Connection | None:
    """Take the session-level advisory lock of source ``key`` on a dedicated connection.

    Returns the connection holding the lock (keep it open for the crawl's duration and
    pass it to `unlock_source`), or None when another session holds it. The lock dies
    with the connection, so a killed crawler never leaves a stale lock behind. ``shared``
    locks (the workers of one distributed crawl) coexist with each other but not with
    an exclusive one.
    """
    fn = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    conn = engine.connect()
    try:
        got = conn.execute(
            text(f"SELECT {fn}(hashtextextended(:k, 0))"),
            {"k": LOCK_NAMESPACE + key},
        ).scalar_one()
        conn.commit()
    except Exception:
        conn.close()
        raise
    if not got:
        conn.close()
        return None
    return conn


def unlock_source(conn: Connection, key: str, *, shared: bool = False) -> None:
    """Release a lock taken by `try_lock_source` and close its connection."""
    fn = "pg_advisory_unlock_shared" if shared else "pg_advisory_unlock"
    try:
        conn.execute(
            text(f"SELECT {fn}(hashtextextended(:k, 0))"),
            {"k": LOCK_NAMESPACE + key},
        )
        conn.commit()
    finally:
        conn.close()


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
    """Start time of the last succeeded run of each source, by source key."""
    rows = session.execute(
        select(Source.key, func.max(CrawlRun.started_at))
        .join(CrawlRun, CrawlRun.source_id == Source.id)
        .where(CrawlRun.status == "succeeded")
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


def source_health(session: Session, keys: Sequence[str], now: datetime) -> list[SourceHealth]:
    """Ledger facts for each of ``keys`` (sources never crawled included)."""
    ids = {
        key: sid
        for key, sid in session.execute(
            select(Source.key, Source.id).where(Source.key.in_(list(keys)))
        )
    }
    out: list[SourceHealth] = []
    for key in keys:
        sid = ids.get(key)
        if sid is None:
            out.append(SourceHealth(key, None, None, None, 0, None, 0, 0))
            continue
        last = session.execute(
            select(CrawlRun)
            .where(CrawlRun.source_id == sid, CrawlRun.status != "running")
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        success = session.execute(
            select(func.max(CrawlRun.finished_at)).where(
                CrawlRun.source_id == sid, CrawlRun.status == "succeeded"
            )
        ).scalar_one()
        failures = 0
        if last is not None:
            failures = session.execute(
                select(func.count()).select_from(FetchFailure).where(FetchFailure.run_id == last.id)
            ).scalar_one()
        counts = session.execute(
            select(
                func.count().filter(Article.first_seen_at > now - timedelta(days=1)),
                func.count().filter(Article.first_seen_at > now - timedelta(days=7)),
            ).where(Article.source_id == sid)
        ).one()
        crawl_statuses: tuple[str, ...] = ()
        if last is not None and last.crawl_id:
            crawl_statuses = tuple(
                session.execute(
                    select(CrawlRun.status).where(CrawlRun.crawl_id == last.crawl_id)
                ).scalars()
            )
        out.append(
            SourceHealth(
                key=key,
                last_run_id=last.id if last else None,
                last_run_status=last.status if last else None,
                last_run_started_at=last.started_at if last else None,
                last_run_failures=int(failures),
                last_success_at=success,
                articles_24h=int(counts[0]),
                articles_7d=int(counts[1]),
                last_crawl_id=last.crawl_id if last else None,
                last_crawl_statuses=crawl_statuses,
            )
        )
    return out
