"""Raw pages: the ``pages`` rows of stored articles, their bodies compressed in the row
(a helper thread per process) or appended to WARC files (`storage.pagestore`), and read
back, one by one or (`stored_fetches`) in batches for re-extraction; `move_pages_to_files`
takes pages already in rows out to WARC files. Functions take a session and never commit
(`storage.db.transaction` does).
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import pagestore
from storage.db import array_type, run_binary
from storage.models import Article, Page, Source

if TYPE_CHECKING:
    from storage.articles import StoredArticle

_PAGE_COLUMNS = {c.name: array_type(c) for c in Page.__table__.columns if c.name != Page.id.key}
"""The ``pages`` columns a batch writes (all but the id), with their array element types."""
_UPSERT_PAGES = (
    "INSERT INTO pages ("
    + ", ".join(_PAGE_COLUMNS)
    + ") SELECT * FROM unnest("
    + ", ".join(f"CAST(%({c})b AS {t}[])" for c, t in _PAGE_COLUMNS.items())
    + ") ON CONFLICT (article_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _PAGE_COLUMNS if c != "article_id")
)


@dataclass(frozen=True, slots=True)
class StoredPage:
    """The fetch an article came from, kept for re-extraction."""

    requested_url: str
    final_url: str
    status: int
    content_type: str | None
    html: bytes
    fetched_at: datetime
    headers: tuple[tuple[str, str], ...] | None = None
    """The response's HTTP headers as kept (``pages.http_headers``); None: not known."""


def upsert_pages(
    session: Session,
    items: Sequence[StoredArticle],
    stored: Sequence[_PageBody],
    ids: dict[str, int],
) -> None:
    """Insert or replace the ``pages`` rows of ``items`` (each with a page), whose bodies
    ``stored`` holds in the same order; ``ids`` maps their URLs to article ids."""
    run_binary(session, _UPSERT_PAGES, _page_arrays(items, stored, ids))


def _page_arrays(
    items: Sequence[StoredArticle], stored: Sequence[_PageBody], ids: dict[str, int]
) -> dict[str, list[Any]]:
    """One list per ``pages`` column (parameters of `_UPSERT_PAGES`)."""
    pages = [item.page for item in items if item.page is not None]
    warc = [s.location for s in stored]
    return {
        "article_id": [ids[item.record.url] for item in items],
        "requested_url": [p.requested_url for p in pages],
        "final_url": [p.final_url for p in pages],
        "status": [p.status for p in pages],
        "content_type": [p.content_type for p in pages],
        "html_zlib": [s.html_zlib for s in stored],
        "fetched_at": [p.fetched_at for p in pages],
        "run_id": [item.run_id for item in items],
        "warc_file": [w.file if w else None for w in warc],
        "warc_offset": [w.offset if w else None for w in warc],
        "warc_length": [w.length if w else None for w in warc],
        "body_sha256": [s.sha256 for s in stored],
        "http_headers": [
            None if p.headers is None else json.dumps([list(h) for h in p.headers]) for p in pages
        ],
    }


@dataclass(frozen=True, slots=True)
class _PageBody:
    """How one raw page is kept: compressed in the row, or at a WARC location."""

    html_zlib: bytes | None
    location: pagestore.WarcLocation | None
    sha256: str


_COMPRESSORS: dict[int, ThreadPoolExecutor] = {}
_COMPRESSORS_LOCK = threading.Lock()


def _compressor() -> ThreadPoolExecutor:
    """This process's helper thread for page compression (zlib and isal release the GIL
    while they work). Per process id: a forked child inherits the executor but not its
    thread, and would wait for its results forever."""
    pid = os.getpid()
    with _COMPRESSORS_LOCK:
        if pid not in _COMPRESSORS:
            _COMPRESSORS[pid] = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="newsingest-zlib"
            )
        return _COMPRESSORS[pid]


@cache
def _deflate() -> Callable[[bytes, int], bytes]:
    """``compress(data, level)`` producing a zlib stream: python-isal's when installed.

    ISA-L's level 1 takes 0.24 ms for a median 150 KB corpus page where zlib's level 1
    takes 0.92 ms, and compresses slightly better (4.27x against 4.20x); its output is a
    standard zlib stream, read back with ``zlib.decompress``. Without it, zlib level 1
    (2.3x faster than level 6, +18 % bytes).
    """
    try:
        isal_zlib = importlib.import_module("isal.isal_zlib")
    except ImportError:
        return zlib.compress
    compress: Callable[[bytes, int], bytes] = isal_zlib.compress
    return compress


def page_compressor() -> str:
    """Which library compresses pages: ``isal`` or ``zlib``."""
    return "zlib" if _deflate() is zlib.compress else "isal"


def compress_html(html: bytes) -> bytes:
    """The stored form of a raw page (``pages.html_zlib``): a zlib stream, fast level."""
    return _deflate()(html, 1)


def compress_pages(
    items: Sequence[StoredArticle], page_writer: pagestore.WarcPageWriter | None
) -> Future[list[_PageBody]] | None:
    pages = [item.page for item in items if item.page is not None]
    if not pages:
        return None
    if page_writer is None:
        return _compressor().submit(
            lambda: [
                _PageBody(compress_html(p.html), None, pagestore.body_sha256(p.html)) for p in pages
            ]
        )
    writer = page_writer

    def write() -> list[_PageBody]:
        locations = writer.write(
            [
                pagestore.PageToWrite(
                    url=p.final_url,
                    status=p.status,
                    content_type=p.content_type,
                    fetched_at=p.fetched_at,
                    body=p.html,
                    headers=p.headers,
                )
                for p in pages
            ]
        )
        return [
            _PageBody(None, loc, pagestore.body_sha256(p.html))
            for p, loc in zip(pages, locations, strict=True)
        ]

    return _compressor().submit(write)


def page_html(session: Session, article_id: int, page_dir: Path | None = None) -> bytes | None:
    """The stored raw HTML of an article's last fetch (None: no page stored). A page in a
    WARC file is read from ``page_dir`` (``NEWSINGEST_PAGE_WARC_DIR``); `PageUnreadable`
    when it cannot be."""
    row = session.execute(
        select(
            Page.html_zlib, Page.warc_file, Page.warc_offset, Page.warc_length, Page.body_sha256
        ).where(Page.article_id == article_id)
    ).one_or_none()
    if row is None:
        return None
    return page_body(row[0], row[1], row[2], row[3], row[4], page_dir)


def page_body(
    html_zlib: bytes | None,
    warc_file: str | None,
    warc_offset: int | None,
    warc_length: int | None,
    sha256: str | None,
    page_dir: Path | None,
) -> bytes:
    """A ``pages`` row's raw HTML, from the row or from its WARC record under
    ``page_dir``; raises `pagestore.PageUnreadable` naming the file when it cannot be
    read (or when ``page_dir`` was not given)."""
    if html_zlib is not None:
        return zlib.decompress(html_zlib)
    assert warc_file is not None and warc_offset is not None and warc_length is not None
    if page_dir is None:
        raise pagestore.PageUnreadable(Path(warc_file), "no page folder given")
    return pagestore.read_page(page_dir, warc_file, warc_offset, warc_length, sha256)


def move_pages_to_files(session: Session, writer: pagestore.WarcPageWriter, *, limit: int) -> int:
    """Move up to ``limit`` raw pages kept in ``pages.html_zlib`` (lowest ids first) into
    ``writer``'s WARC files: the records are written (and fsynced) first, then the rows
    point at them and lose their HTML, when the caller commits. Rows are locked
    (``FOR UPDATE SKIP LOCKED``): a crawl writing the same pages meanwhile is not
    overwritten. Returns how many were moved (0: none left)."""
    rows = session.execute(
        select(
            Page.id, Page.final_url, Page.status, Page.content_type, Page.fetched_at,
            Page.html_zlib, Page.http_headers,
        )
        .where(Page.html_zlib.is_not(None))
        .order_by(Page.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()  # fmt: skip
    if not rows:
        return 0
    bodies: list[bytes] = []
    for row in rows:
        assert row[5] is not None  # the query's condition
        bodies.append(zlib.decompress(row[5]))
    locations = writer.write(
        [
            pagestore.PageToWrite(
                url=row[1],
                status=row[2],
                content_type=row[3],
                fetched_at=row[4],
                body=body,
                headers=None if row[6] is None else tuple((h[0], h[1]) for h in row[6]),
            )
            for row, body in zip(rows, bodies, strict=True)
        ]
    )
    session.execute(
        update(Page),
        [
            {
                "id": row[0],
                "html_zlib": None,
                "warc_file": loc.file,
                "warc_offset": loc.offset,
                "warc_length": loc.length,
                "body_sha256": pagestore.body_sha256(body),
            }
            for row, body, loc in zip(rows, bodies, locations, strict=True)
        ],
    )
    return len(rows)


# --- the stored pages re-extraction reads ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StoredFetch:
    """An article's stored page, with what re-extraction needs to know about the article."""

    article_id: int
    final_url: str
    html_zlib: bytes | None
    """None when the page is in a WARC file (``warc_file``)."""
    fetched_at: datetime
    source_key: str | None
    title: str | None
    published_at: datetime | None
    content_type: str | None
    """The page's HTTP ``Content-Type`` as fetched: its charset may be the only one the
    page has."""
    warc_file: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None
    body_sha256: str | None = None


def _reextract_conditions(source_key: str | None, stale_for: str | None) -> list[Any]:
    conditions: list[Any] = []
    if source_key is not None:
        conditions.append(Source.key == source_key)
    if stale_for is not None:
        conditions.append(Article.extractor_version != stale_for)
    return conditions


def count_reextractable(
    session: Session, *, source_key: str | None = None, stale_for: str | None = None
) -> tuple[int, int, int]:
    """(articles with a stored page, articles without one, those of the first whose page
    is in a WARC file) in the selection.

    ``stale_for``: only articles whose ``extractor_version`` differs from it.
    """
    stmt = (
        select(
            func.count(Page.id),
            func.count().filter(Page.id.is_(None)),
            func.count(Page.warc_file),
        )
        .select_from(Article)
        .outerjoin(Page, Page.article_id == Article.id)
        .outerjoin(Source, Source.id == Article.source_id)
        .where(*_reextract_conditions(source_key, stale_for))
    )
    with_page, without, in_files = session.execute(stmt).one()
    return int(with_page), int(without), int(in_files)


def stored_fetches(
    session: Session,
    *,
    source_key: str | None = None,
    stale_for: str | None = None,
    after_id: int = 0,
    limit: int = 100,
) -> list[StoredFetch]:
    """The next ``limit`` stored pages of the selection with article id above ``after_id``.

    Keyset pagination by article id: a batch loop resumes where it stopped and never
    holds a cursor open while it writes.
    """
    stmt = (
        select(
            Article.id,
            Page.final_url,
            Page.html_zlib,
            Page.fetched_at,
            Source.key,
            Article.title,
            Article.published_at,
            Page.content_type,
            Page.warc_file,
            Page.warc_offset,
            Page.warc_length,
            Page.body_sha256,
        )
        .join(Page, Page.article_id == Article.id)
        .outerjoin(Source, Source.id == Article.source_id)
        .where(Article.id > after_id, *_reextract_conditions(source_key, stale_for))
        .order_by(Article.id)
        .limit(limit)
    )
    return [StoredFetch(*row) for row in session.execute(stmt)]
