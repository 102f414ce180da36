"""Source locks: one crawl of a source at a time, and the run recorded when it is held.

A crawl holds a row lock on its source's ``crawl_locks`` row on a dedicated connection
(`try_lock_source`, `lock_alive`, `unlock_source`); a crawl that finds it held records a
`SKIPPED` run naming the holder (`record_skipped`, read back by `skipped_holder`).
Functions take a session and never commit, except the lock helpers, which own their
connection for as long as a crawl holds the lock.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from storage.models import CrawlLock, CrawlRun

SKIPPED = "skipped"
"""Status of a run that did not crawl because another crawl held the source's lock."""

LOCKED_BY = "source locked by run {run_id}"
"""``error`` of a skipped run whose lock holder is a recorded run."""

LOCKED_BY_UNKNOWN = "source locked by a session with no running run"
"""``error`` of a skipped run whose lock holder has no ``running`` row (yet)."""


def try_lock_source(engine: Engine, key: str, *, shared: bool = False) -> Connection | None:
    """Take the lock of source ``key`` on a dedicated connection.

    The lock is a row lock on the source's ``crawl_locks`` row (created if missing),
    held by a transaction that stays open on the returned connection: keep the
    connection for the crawl's duration, check it with `lock_alive`, and pass it to
    `unlock_source`. None when another crawl holds the lock. The lock dies with the
    connection (a killed crawler or a server restart leaves none behind). ``shared``
    locks (the workers of one distributed crawl) coexist with each other but not with
    an exclusive one. Row locks need UPDATE privilege on ``crawl_locks``, which a
    read-only role does not have, so it cannot hold a source's lock.
    """
    conn = engine.connect()
    try:
        conn.execute(insert(CrawlLock).values(source_key=key).on_conflict_do_nothing())
        conn.commit()
        got = conn.execute(
            select(CrawlLock.source_key)
            .where(CrawlLock.source_key == key)
            .with_for_update(read=shared, skip_locked=True)  # FOR SHARE / FOR UPDATE
        ).first()
    except Exception:
        conn.close()
        raise
    if got is None:
        conn.close()
        return None
    return conn


def lock_alive(conn: Connection) -> bool:
    """Whether the lock held on ``conn`` is still held (its session is alive)."""
    try:
        conn.execute(text("SELECT 1")).scalar_one()
    except Exception:
        return False
    return True


def unlock_source(conn: Connection) -> None:
    """Release a lock taken by `try_lock_source` and close its connection."""
    try:
        conn.rollback()
    finally:
        conn.close()


def record_skipped(
    session: Session,
    *,
    source_id: int | None,
    trigger: str,
    host: str,
    pid: int,
    crawl_id: str | None = None,
    kind: str = "crawl",
) -> int:
    """Record a crawl of a source skipped because its lock is held: a finished run with
    status `SKIPPED` whose ``error`` names the newest ``running`` run of the source (the
    holder, as far as the ledger knows). Returns its id."""
    holder = None
    if source_id is not None:
        holder = session.execute(
            select(CrawlRun.id)
            .where(CrawlRun.source_id == source_id, CrawlRun.status == "running")
            .order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    run = CrawlRun(
        source_id=source_id,
        trigger=trigger,
        host=host,
        pid=pid,
        crawl_id=crawl_id,
        status=SKIPPED,
        stats={},
        kind=kind,
        error=LOCKED_BY.format(run_id=holder) if holder is not None else LOCKED_BY_UNKNOWN,
        finished_at=func.now(),
    )
    session.add(run)
    session.flush()
    return run.id


def skipped_holder(error: str | None) -> int | None:
    """The run id a skipped run's ``error`` names (see `record_skipped`), else None."""
    prefix = LOCKED_BY.split("{", 1)[0]
    if error and error.startswith(prefix) and error[len(prefix) :].isdigit():
        return int(error[len(prefix) :])
    return None
