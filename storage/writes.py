"""Writing batches of articles and failures so that a retry never duplicates anything.

Both the crawl's `StorePipeline` and the spool replay (`crawler.spool.replay`) write
through `write_entries`: one transaction for the whole batch; articles are upserted by
canonical URL (idempotent), a failure is inserted only when the same run has no row for
the same URL, stage and reason yet, and a spooled run outcome is applied only to a run
still ``running`` or ``abandoned``. An entry whose source is not registered is not
written (`WriteResult.unresolved`): the spool keeps it until a crawl registers the source.
A batch that the database rejects for its content
(not for being unreachable) is written entry by entry, and each entry it still rejects
becomes a ``store`` failure, so one poisoned record never blocks the others.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, tuple_, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from crawler.failures import FailureReason
from storage import db, search_index, sources
from storage.articles import StoredArticle, UpsertResult, merge_search_entries, upsert_articles
from storage.failures import FailureRow, insert_failures
from storage.models import CrawlRun, FetchFailure
from storage.pagestore import WarcPageWriter

logger = logging.getLogger(__name__)

RUN_STATUSES_REPLACEABLE = ("running", "abandoned")
"""Run statuses a spooled run outcome may overwrite."""


@dataclass(frozen=True, slots=True)
class PendingArticle:
    """An article to store; ``article.source_id`` is resolved from ``source_key``."""

    source_key: str | None
    article: StoredArticle


@dataclass(frozen=True, slots=True)
class PendingFailure:
    """A failure to record; ``failure.source_id`` is resolved from ``source_key``."""

    source_key: str | None
    failure: FailureRow


@dataclass(frozen=True, slots=True)
class PendingRunFinish:
    """The outcome of a run whose ledger could not write it when the run closed."""

    run_id: int
    status: str
    stats: dict[str, Any]
    error: str | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class WriteResult:
    """What one `write_entries` call did."""

    upsert: UpsertResult = field(default_factory=UpsertResult)
    failures: int = 0
    duplicate_failures: int = 0
    runs_finished: int = 0
    rejected: int = 0
    """Entries the database refused for their content, recorded as ``store`` failures."""
    foreign: int = 0
    """Articles left alone because another source owns their URL (``other_source`` failures)."""
    unresolved: list[PendingArticle | PendingFailure] = field(default_factory=list)
    """Entries not written: their source is not registered (yet); the spool keeps them."""


TRANSIENT_SQLSTATE_CLASSES = ("08", "53", "57", "58")
"""Connection exception, insufficient resources, operator intervention, system error."""

TRANSIENT_SQLSTATES = ("40001", "40P01", "55P03", "25006")
"""Serialization failure, deadlock, lock not available, read-only transaction (failover)."""


def is_transient_db_error(exc: BaseException) -> bool:
    """True when ``exc`` says the database is unreachable (retry later), not that it refused.

    Decided by the SQLSTATE when the server sent one (psycopg files some permanent errors,
    such as a value too large for an index, under OperationalError too); without one, a
    connection error, a pool timeout or an invalidated connection is transient.
    """
    if isinstance(exc, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        state = getattr(exc.orig, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            return state[:2] in TRANSIENT_SQLSTATE_CLASSES or state in TRANSIENT_SQLSTATES
        return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))
    return isinstance(exc, (ConnectionError, TimeoutError))


def write_entries(
    sessions: sessionmaker[Session],
    articles: Sequence[PendingArticle],
    failures: Sequence[PendingFailure],
    run_finishes: Sequence[PendingRunFinish] = (),
    *,
    page_writer: WarcPageWriter | None = None,
) -> WriteResult:
    """Write everything in one transaction; on a content error, entry by entry.

    ``page_writer``: the raw pages go to its WARC files (``NEWSINGEST_PAGE_STORE=warc``;
    `storage.articles.upsert_articles`).

    Raises when the database is unreachable (`is_transient_db_error`), in which case nothing of
    this call was committed by the one-transaction attempt. In the entry-by-entry
    fallback a transient error is raised too; entries committed before it stay, and
    writing them again later is harmless (see the module docstring).
    """
    try:
        with db.transaction(sessions) as session:
            return _write(session, articles, failures, run_finishes, page_writer)
    except Exception as exc:
        if is_transient_db_error(exc):
            raise
        if len(articles) + len(failures) + len(run_finishes) == 1:
            return _reject_single(sessions, articles, failures, run_finishes, exc)
        logger.warning("the database refused a batch (%s); writing it entry by entry", exc)
    total = WriteResult()
    for art in articles:
        _merge(total, _one(sessions, [art], [], [], page_writer))
    for fail in failures:
        _merge(total, _one(sessions, [], [fail], [], page_writer))
    for run in run_finishes:
        _merge(total, _one(sessions, [], [], [run], page_writer))
    return total


def merge_search_index(factory: sessionmaker[Session]) -> int:
    """Merge the search index's pending lists in a transaction of its own
    (`storage.articles.merge_search_entries`), then close its open segment if it spans a
    whole range (`storage.search_index.roll`, outside any transaction); the number of
    pages emptied."""
    with db.transaction(factory) as session:
        merged = merge_search_entries(session)
        bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        search_index.roll(conn)
    return merged


_INSUFFICIENT_PRIVILEGE = "42501"


def merge_search_index_if_owner(factory: sessionmaker[Session]) -> int | None:
    """`merge_search_index`, or None when this role does not own the index (a warning is
    logged; the inserts and autovacuum merge it then)."""
    try:
        return merge_search_index(factory)
    except sa_exc.ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
            raise
        logger.warning("could not merge the search index's pending lists: not their owner")
        return None


def _one(
    sessions: sessionmaker[Session],
    articles: Sequence[PendingArticle],
    failures: Sequence[PendingFailure],
    run_finishes: Sequence[PendingRunFinish],
    page_writer: WarcPageWriter | None,
) -> WriteResult:
    try:
        with db.transaction(sessions) as session:
            return _write(session, articles, failures, run_finishes, page_writer)
    except Exception as exc:
        if is_transient_db_error(exc):
            raise
        return _reject_single(sessions, articles, failures, run_finishes, exc)


def _reject_single(
    sessions: sessionmaker[Session],
    articles: Sequence[PendingArticle],
    failures: Sequence[PendingFailure],
    run_finishes: Sequence[PendingRunFinish],
    exc: BaseException,
) -> WriteResult:
    """Record an entry the database refused as a ``store`` failure (or log a run)."""
    detail = f"{type(exc).__name__}: {exc}"[:1000]
    result = WriteResult(rejected=1)
    if run_finishes:
        logger.error("could not record the outcome of run %s: %s", run_finishes[0].run_id, detail)
        return result
    if articles:
        item = articles[0]
        url, run_id, key = item.article.record.url, item.article.run_id, item.source_key
        status = item.article.page.status if item.article.page else None
    else:
        f = failures[0]
        url, run_id, key, status = f.failure.url, f.failure.run_id, f.source_key, f.failure.status
    logger.error("the database refused %s: %s; recorded as a store failure", url, detail)
    row = FailureRow(
        url=url,
        stage="store",
        reason=FailureReason.STORE_ERROR,
        status=status,
        detail=detail,
        run_id=run_id,
    )
    with db.transaction(sessions) as session:
        _write(session, [], [PendingFailure(key, row)], [])
    return result


def _merge(total: WriteResult, part: WriteResult) -> None:
    total.upsert.inserted += part.upsert.inserted
    total.upsert.updated += part.upsert.updated
    total.upsert.unchanged += part.upsert.unchanged
    total.upsert.merged += part.upsert.merged
    total.upsert.ids.update(part.upsert.ids)
    total.failures += part.failures
    total.duplicate_failures += part.duplicate_failures
    total.runs_finished += part.runs_finished
    total.rejected += part.rejected
    total.foreign += part.foreign
    total.unresolved += part.unresolved


def _write(
    session: Session,
    articles: Sequence[PendingArticle],
    failures: Sequence[PendingFailure],
    run_finishes: Sequence[PendingRunFinish],
    page_writer: WarcPageWriter | None = None,
) -> WriteResult:
    ids: dict[str | None, int | None] = {None: None}

    def source_id(key: str | None) -> int | None:
        if key not in ids:
            ids[key] = sources.source_id(session, key) if key else None
        return ids[key]

    result = WriteResult()

    # An entry of a source the database does not know (a crawl with credentials that
    # could not register it) is kept for later, never stored without its source.
    def unknown(key: str | None) -> bool:
        return bool(key) and source_id(key) is None

    result.unresolved = [a for a in articles if unknown(a.source_key)]
    result.unresolved += [f for f in failures if unknown(f.source_key)]
    if result.unresolved:
        articles = [a for a in articles if not unknown(a.source_key)]
        failures = [f for f in failures if not unknown(f.source_key)]
    runs = _existing_runs(
        session,
        {a.article.run_id for a in articles} | {f.failure.run_id for f in failures},
    )
    stored = [
        replace(
            a.article,
            source_id=source_id(a.source_key),
            run_id=a.article.run_id if a.article.run_id in runs else None,
        )
        for a in articles
    ]
    result.upsert = upsert_articles(session, stored, page_writer=page_writer)
    rows = [
        replace(
            f.failure,
            source_id=source_id(f.source_key),
            run_id=f.failure.run_id if f.failure.run_id in runs else None,
        )
        for f in failures
    ]
    by_url = {a.record.url: a for a in stored}
    for url, owner in result.upsert.foreign.items():
        art = by_url[url]
        rows.append(
            FailureRow(
                url=url,
                stage="store",
                reason=FailureReason.OTHER_SOURCE,
                status=art.page.status if art.page else None,
                detail=f"the article is stored by another source (sources.id {owner}); "
                "a crawl never writes over another source's article",
                source_id=art.source_id,
                run_id=art.run_id,
            )
        )
    result.foreign = len(result.upsert.foreign)
    fresh = _new_failures(session, rows)
    result.duplicate_failures = len(rows) - len(fresh)
    result.failures = insert_failures(session, fresh)
    for run in run_finishes:
        done = session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run.run_id, CrawlRun.status.in_(RUN_STATUSES_REPLACEABLE))
            .values(
                status=run.status,
                stats=run.stats,
                error=run.error,
                finished_at=run.finished_at or func.now(),
            )
            .returning(CrawlRun.id)
        ).all()
        result.runs_finished += len(done)
    return result


def _existing_runs(session: Session, run_ids: set[int | None]) -> set[int | None]:
    """Those of ``run_ids`` that exist (a spooled entry may outlive its run's row)."""
    wanted = [r for r in run_ids if r is not None]
    found: set[int | None] = {None}
    if wanted:
        found.update(session.execute(select(CrawlRun.id).where(CrawlRun.id.in_(wanted))).scalars())
    return found


def _new_failures(session: Session, rows: Sequence[FailureRow]) -> list[FailureRow]:
    """``rows`` without those the same run has recorded already (or repeats within rows)."""
    if not rows:
        return []
    keys = {(r.url, r.stage, r.reason) for r in rows}
    known: set[tuple[int | None, str, str, str]] = set()
    for run_id in {r.run_id for r in rows}:
        cond = FetchFailure.run_id.is_(None) if run_id is None else FetchFailure.run_id == run_id
        for url, stage, reason in session.execute(
            select(FetchFailure.url, FetchFailure.stage, FetchFailure.reason).where(
                cond,
                tuple_(FetchFailure.url, FetchFailure.stage, FetchFailure.reason).in_(list(keys)),
            )
        ):
            known.add((run_id, url, stage, reason))
    out: list[FailureRow] = []
    for r in rows:
        key = (r.run_id, r.url, r.stage, r.reason[:500])
        if key in known:
            continue
        known.add(key)
        out.append(r)
    return out
