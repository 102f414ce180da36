"""The crawl-run ledger: ``crawl_runs`` rows. Functions take a session, never commit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.models import CrawlRun, Source


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
) -> None:
    """Close a run with its final status and stats."""
    session.execute(
        update(CrawlRun)
        .where(CrawlRun.id == run_id)
        .values(status=status, stats=stats, error=error, finished_at=func.now())
    )


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
