"""What `newsingest warc` keeps in the database besides articles: per-file checkpoints
(``warc_files``), archive failures with their file and offset, what earlier runs of a
file already did (for a resumed file), and the stored pages the WARC export reads
(from ``pages.html_zlib``, or from the WARC page store's files: `storage.pagestore`).

Functions take a session and never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from storage.models import FetchFailure, Page, Source, WarcFile
from storage.pages import page_body
from storage.pagestore import PageUnreadable
from storage.queries import ARTICLE_FEED, ArticleFilter, feed_conditions


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where the ingest of one file stands."""

    location: str
    size: int | None
    offset: int
    """Every record before this byte offset is stored or recorded as a failure."""
    records: int
    """Archive records read before ``offset``."""
    done: bool
    run_ids: tuple[int, ...]
    """The runs that read the file before (oldest first)."""


def open_files(
    session: Session, run_id: int | None, files: Sequence[tuple[str, int | None]]
) -> dict[str, Checkpoint]:
    """The checkpoints of ``files`` (location, size) as they stood, after noting that run
    ``run_id`` reads them. A file seen before with another size is another file: its
    checkpoint starts over."""
    if not files:
        return {}
    rows = {
        row.location: row
        for row in session.execute(
            select(WarcFile).where(WarcFile.location.in_([loc for loc, _ in files]))
        ).scalars()
    }
    out: dict[str, Checkpoint] = {}
    for location, size in files:
        row = rows.get(location)
        changed = row is not None and row.size is not None and size is not None and row.size != size
        if row is None or changed:
            out[location] = Checkpoint(location, size, 0, 0, False, ())
        else:
            out[location] = Checkpoint(
                location, row.size, row.offset, row.records, row.done, tuple(row.run_ids)
            )
        stmt = insert(WarcFile).values(
            location=location, size=size, run_ids=[run_id] if run_id is not None else []
        )
        done_before = row is not None and row.done and not changed
        if done_before:
            continue  # skipped: no run works on it
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[WarcFile.location],
                set_={
                    "size": stmt.excluded.size,
                    "offset": 0 if changed else WarcFile.offset,
                    "records": 0 if changed else WarcFile.records,
                    "done": False,
                    "finished_at": None,
                    "run_ids": (
                        stmt.excluded.run_ids
                        if changed
                        else func.array_cat(WarcFile.run_ids, stmt.excluded.run_ids)
                    ),
                    "updated_at": func.now(),
                },
            )
        )
    return out


def save_checkpoint(
    session: Session, location: str, *, offset: int, records: int, done: bool
) -> None:
    """Move a file's checkpoint forward (never back); ``done`` marks it ingested."""
    values: dict[str, Any] = {
        "offset": func.greatest(WarcFile.offset, offset),
        "records": func.greatest(WarcFile.records, records),
        "updated_at": func.now(),
    }
    if done:
        values.update(done=True, finished_at=func.now())
    session.execute(update(WarcFile).where(WarcFile.location == location).values(**values))


def checkpoints(session: Session, locations: Sequence[str]) -> dict[str, Checkpoint]:
    """The recorded checkpoints of ``locations`` (those never ingested are absent)."""
    rows = session.execute(select(WarcFile).where(WarcFile.location.in_(list(locations))))
    return {
        row.location: Checkpoint(
            row.location, row.size, row.offset, row.records, row.done, tuple(row.run_ids)
        )
        for row in rows.scalars()
    }


@dataclass(frozen=True, slots=True)
class EarlierWork:
    """What earlier runs of a resumed file stored or failed, by URL."""

    stored: dict[str, datetime]
    """URL (requested) -> the fetch time of its stored page, for pages those runs wrote."""
    failed: frozenset[str]
    """URLs those runs recorded failures for."""


def earlier_work(session: Session, run_ids: Sequence[int]) -> EarlierWork:
    """Pages and failures written by ``run_ids``: a record after a file's checkpoint that
    one of them already stored is not stored again (a killed ingest writes its checkpoint
    a little after the records themselves)."""
    if not run_ids:
        return EarlierWork({}, frozenset())
    ids = list(run_ids)
    stored = {
        url: fetched
        for url, fetched in session.execute(
            select(Page.requested_url, Page.fetched_at).where(Page.run_id.in_(ids))
        )
    }
    failed = frozenset(
        session.execute(select(FetchFailure.url).where(FetchFailure.run_id.in_(ids))).scalars()
    )
    return EarlierWork(stored, failed)


def source_ids(session: Session) -> dict[str, int]:
    """Source key -> id of every registered source."""
    return {key: sid for key, sid in session.execute(select(Source.key, Source.id))}


@dataclass(frozen=True, slots=True)
class StoredFetch:
    """One stored page as the WARC export writes it."""

    article_id: int
    requested_url: str
    final_url: str
    status: int
    content_type: str | None
    fetched_at: datetime
    html: bytes
    headers: tuple[tuple[str, str], ...] | None = None
    """The response's headers as kept (None for pages stored before migration 0016)."""


def _headers(value: Any) -> tuple[tuple[str, str], ...] | None:
    if not isinstance(value, list):
        return None
    return tuple((str(h[0]), str(h[1])) for h in value if isinstance(h, list) and len(h) == 2)


def any_page_in_files(session: Session) -> bool:
    """Whether some stored page is kept in a WARC file (``pages.warc_file``)."""
    stmt = select(Page.id).where(Page.warc_file.is_not(None)).limit(1)
    return session.execute(stmt).first() is not None


def iter_pages(
    session: Session,
    filters: ArticleFilter | None = None,
    *,
    batch: int = 100,
    page_dir: Path | None = None,
    on_unreadable: Callable[[int, str, PageUnreadable], None] | None = None,
) -> Iterator[StoredFetch]:
    """The stored page (last fetch) of each article of ``article_feed`` matching
    ``filters`` (as ``export``'s other formats select), oldest article first, from a
    server-side cursor. A page in a WARC file is read from ``page_dir``; one that cannot
    be is passed to ``on_unreadable`` (article id, URL, the error naming the file) and
    left out, or, without it, raises `PageUnreadable`."""
    feed = ARTICLE_FEED
    stmt = (
        select(
            feed.c.id,
            Page.requested_url,
            Page.final_url,
            Page.status,
            Page.content_type,
            Page.fetched_at,
            Page.html_zlib,
            Page.warc_file,
            Page.warc_offset,
            Page.warc_length,
            Page.body_sha256,
            Page.http_headers,
        )
        .join(Page, Page.article_id == feed.c.id)
        .order_by(feed.c.id)
        .execution_options(yield_per=batch, stream_results=True)
    )
    conditions = feed_conditions(filters or ArticleFilter())
    if conditions:
        stmt = stmt.where(and_(*conditions))
    result = session.execute(stmt)
    try:
        for row in result:
            try:
                html = page_body(row[6], row[7], row[8], row[9], row[10], page_dir)
            except PageUnreadable as exc:
                if on_unreadable is None:
                    raise
                on_unreadable(row[0], row[2], exc)
                continue
            yield StoredFetch(
                article_id=row[0],
                requested_url=row[1],
                final_url=row[2],
                status=row[3],
                content_type=row[4],
                fetched_at=row[5],
                html=html,
                headers=_headers(row[11]),
            )
    finally:
        result.close()
