"""Upserts and queries. Every function takes a session and never commits.

The caller owns the transaction (`storage.db.transaction`). Inputs are plain values
(`StoredArticle`, `FailureRow`) so this module knows nothing of Scrapy.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text, union, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from crawler.extraction.record import ArticleRecord
from storage import fieldstats, pagestore
from storage.models import (
    NEAR_DUPLICATE_DISTANCE,
    SIMHASH_BANDS,
    Article,
    FetchFailure,
    Page,
    Source,
    UrlState,
    WriteLock,
)

logger = logging.getLogger(__name__)

LATER_RECORD_COLUMNS = ("credits", "published_utc_offset", "stub")
"""Record columns added after schema v1 (migrations 0007 and 0009), in the order they were
added: last in ``articles`` and, after every earlier column, in ``article_feed`` (whose
columns are only ever appended)."""

ARTICLE_RECORD_COLUMNS = (
    "title",
    "lead",
    "text",
    "authors",
    "byline",
    "published_at",
    "published_precision",
    "published_raw",
    "modified_at",
    "language",
    "language_confidence",
    "declared_language",
    "translation_source_language",
    "translation_original_outlet",
    "translation_original_published_at",
    "translation_note",
    "site_name",
    "section",
    "tags",
    "image_url",
    "word_count",
    "content_hash",
    "simhash",
    "extractor_version",
    "fetched_at",
    *LATER_RECORD_COLUMNS,
)
"""``articles`` columns filled from an `ArticleRecord` (besides ``url``)."""

ARTICLES_WRITE_LOCK = "articles"
"""The ``write_locks`` row whose row lock serializes article writers from their first read
until commit, so that near-duplicate links see every committed article and
``first_seen_at`` follows the order in which articles were stored. A row lock, not an
advisory lock: only the ingesting role (UPDATE privilege) can take it, so a read-only
login cannot stall storing."""


def _near(t: str) -> str:
    """The ids of the articles that are near-duplicates of row ``t`` (``t`` itself included):
    the same ``content_hash``, or a simhash at most `NEAR_DUPLICATE_DISTANCE` bits away."""
    bands = "\n    UNION ".join(
        f"SELECT b.id FROM articles AS b WHERE b.simhash_band{band} = {t}.simhash_band{band}"
        f" AND bit_count((b.simhash # {t}.simhash)::bit(64)) <= {NEAR_DUPLICATE_DISTANCE}"
        for band in range(SIMHASH_BANDS)
    )
    return f"""(
    {bands}
    UNION SELECT b.id FROM articles AS b WHERE b.content_hash = {t}.content_hash
)"""


# A simhash within 3 bits shares one of the 4 16-bit bands with it (pigeonhole), so each
# band's index yields every candidate; the indexes carry the simhash and the id
# (migration 0014), so the Hamming distance is checked in the index (an index-only scan)
# and only the few rows that pass are read from the table. Before, the candidates of all
# bands were read from the table: ~N / 65,536 rows per band and article (61 table pages
# per article at 1,000,000 articles), the main reason the write rate fell with the size
# of the database.
_RELINK = text(f"""
UPDATE articles AS a SET duplicate_of = m.match
FROM (
    SELECT t.id, (
        SELECT c.id FROM articles AS c
        WHERE c.id IN {_near("t")}
          AND c.id <> t.id AND (c.first_seen_at, c.id) < (t.first_seen_at, t.id)
        ORDER BY c.first_seen_at, c.id
        LIMIT 1
    ) AS match
    FROM articles AS t
    WHERE t.id = ANY(CAST(:ids AS bigint[]))
) AS m
WHERE a.id = m.id AND a.duplicate_of IS DISTINCT FROM m.match
""")

# MATERIALIZED: otherwise the planner may scan all of articles for the changed rows.
_AFFECTED_BY_CHANGE = text(f"""
WITH t AS MATERIALIZED (
    SELECT id, first_seen_at, content_hash, simhash,
           simhash_band0, simhash_band1, simhash_band2, simhash_band3
    FROM articles WHERE id = ANY(CAST(:ids AS bigint[]))
)
SELECT c.id FROM t CROSS JOIN LATERAL (
    SELECT c.id FROM articles AS c
    WHERE c.id IN {_near("t")}
      AND c.id <> t.id AND (c.first_seen_at, c.id) > (t.first_seen_at, t.id)
) AS c
UNION
SELECT b.id FROM articles AS b WHERE b.duplicate_of = ANY(CAST(:ids AS bigint[]))
""")

# Batch writes pass one array per column and unnest them server-side: one statement of
# constant text per batch (psycopg prepares it after a few uses), no per-row SQL to build.
# They run with binary parameters (`_run_binary`):
# in text form a batch of compressed pages travels hex-escaped, 10x slower end to end.
_ARRAY_TYPES = {
    "source_id": "integer",
    "url": "text",
    "title": "text",
    "lead": "text",
    "text": "text",
    "authors": "text",  # array literals, one per row (unnest cannot yield arrays)
    "credits": "text",
    "byline": "text",
    "published_at": "timestamptz",
    "published_precision": "text",
    "published_utc_offset": "integer",
    "published_raw": "text",
    "modified_at": "timestamptz",
    "language": "text",
    "language_confidence": "double precision",
    "declared_language": "text",
    "translation_source_language": "text",
    "translation_original_outlet": "text",
    "translation_original_published_at": "timestamptz",
    "translation_note": "text",
    "site_name": "text",
    "section": "text",
    "tags": "text",
    "image_url": "text",
    "word_count": "integer",
    "content_hash": "text",
    "simhash": "bigint",
    "extractor_version": "text",
    "fetched_at": "timestamptz",
    "stub": "text",
}
_ARRAY_COLUMNS = ("source_id", "url", *ARTICLE_RECORD_COLUMNS)
_UNNEST = (
    "unnest("
    + ", ".join(f"CAST(%({c})b AS {_ARRAY_TYPES[c]}[])" for c in _ARRAY_COLUMNS)
    + ") AS r("
    + ", ".join(_ARRAY_COLUMNS)
    + ")"
)


_TEXT_ARRAYS = ("authors", "credits", "tags")


def _row_value(column: str) -> str:
    return f"CAST(r.{column} AS text[])" if column in _TEXT_ARRAYS else f"r.{column}"


# New articles (absent when checked under the lock). ON CONFLICT only guards against a
# writer that skipped the lock; then the row is updated as a changed one would be.
_INSERT_NEW = (
    "INSERT INTO articles ("
    + ", ".join(_ARRAY_COLUMNS)
    + ", first_seen_at, last_seen_at) SELECT "
    + ", ".join(_row_value(c) for c in _ARRAY_COLUMNS)
    + ", statement_timestamp(), statement_timestamp() FROM "
    + _UNNEST
    + " ON CONFLICT (url) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in ARTICLE_RECORD_COLUMNS)
    + ", source_id = coalesce(EXCLUDED.source_id, articles.source_id)"
    + ", last_seen_at = statement_timestamp()"
    + " WHERE articles.source_id IS NULL OR articles.source_id = EXCLUDED.source_id"
    + " RETURNING url, id"
)

# Known articles with new content: a plain UPDATE (not INSERT ... ON CONFLICT, whose
# BEFORE INSERT trigger would parse the full text once more for nothing).
_UPDATE_CHANGED = (
    "UPDATE articles AS a SET "
    + ", ".join(f"{c} = {_row_value(c)}" for c in ARTICLE_RECORD_COLUMNS)
    + ", source_id = coalesce(r.source_id, a.source_id)"
    + ", last_seen_at = statement_timestamp() FROM "
    + _UNNEST
    + " WHERE a.url = r.url AND (a.source_id IS NULL OR a.source_id = r.source_id)"
    + " RETURNING a.url, a.id"
)

_KNOWN = text(
    "SELECT url, content_hash, source_id FROM articles WHERE url = ANY(CAST(:urls AS text[]))"
)

_TOUCH_UNCHANGED = text(
    "UPDATE articles SET last_seen_at = statement_timestamp()"
    " WHERE url = ANY(CAST(:urls AS text[])) RETURNING url, id"
)

_PAGE_COLUMNS = {
    "article_id": "bigint",
    "requested_url": "text",
    "final_url": "text",
    "status": "smallint",
    "content_type": "text",
    "html_zlib": "bytea",
    "fetched_at": "timestamptz",
    "run_id": "integer",
    "warc_file": "text",
    "warc_offset": "bigint",
    "warc_length": "bigint",
    "body_sha256": "text",
}
_UPSERT_PAGES = (
    "INSERT INTO pages ("
    + ", ".join(_PAGE_COLUMNS)
    + ") SELECT * FROM unnest("
    + ", ".join(f"CAST(%({c})b AS {t}[])" for c, t in _PAGE_COLUMNS.items())
    + ") ON CONFLICT (article_id) DO UPDATE SET "
    + ", ".join(f"{c} = EXCLUDED.{c}" for c in _PAGE_COLUMNS if c != "article_id")
)


@dataclass(frozen=True, slots=True)
class SourceRow:
    """What the database keeps of a source from the sources file."""

    key: str
    name: str
    url: str
    language: str | None = None
    country: str | None = None
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class StoredPage:
    """The fetch an article came from, kept for re-extraction."""

    requested_url: str
    final_url: str
    status: int
    content_type: str | None
    html: bytes
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An extracted record with where it came from, ready to upsert."""

    record: ArticleRecord
    source_id: int | None
    page: StoredPage | None = None
    run_id: int | None = None


@dataclass(frozen=True, slots=True)
class FailureRow:
    """A URL that produced no article, and why."""

    url: str
    stage: str
    reason: str
    status: int | None = None
    detail: str | None = None
    source_id: int | None = None
    run_id: int | None = None


@dataclass(slots=True)
class UpsertResult:
    """Counts of one `upsert_articles` call."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    linked: int = 0
    """Articles whose ``duplicate_of`` was set or changed by this call."""
    ids: dict[str, int] = field(default_factory=dict)
    foreign: dict[str, int] = field(default_factory=dict)
    """URL -> owning source id of items left alone: another source stored that URL."""


def record_columns(record: ArticleRecord) -> dict[str, Any]:
    """The ``articles`` column values of ``record``."""
    tr = record.translation
    return {
        "url": record.url,
        "title": record.title,
        "lead": record.lead,
        "text": record.text,
        "authors": list(record.authors),
        "credits": list(record.credits),
        "byline": record.byline,
        "published_at": record.published_at,
        "published_precision": record.published_precision,
        "published_utc_offset": record.published_utc_offset,
        "published_raw": record.published_raw,
        "modified_at": record.modified_at,
        "language": record.language,
        "language_confidence": record.language_confidence,
        "declared_language": record.declared_language,
        "translation_source_language": tr.source_language if tr else None,
        "translation_original_outlet": tr.original_outlet if tr else None,
        "translation_original_published_at": tr.original_published_at if tr else None,
        "translation_note": tr.note if tr else None,
        "site_name": record.site_name,
        "section": record.section,
        "tags": list(record.tags),
        "image_url": record.image_url,
        "word_count": record.word_count,
        "content_hash": record.content_hash,
        "simhash": record.simhash,
        "extractor_version": record.extractor_version,
        "fetched_at": record.fetched_at,
        "stub": record.stub,
    }


def upsert_source(session: Session, row: SourceRow) -> int:
    """Insert or update a source by key; returns its id."""
    values = {
        "key": row.key,
        "name": row.name,
        "url": row.url,
        "language": row.language,
        "country": row.country,
        "enabled": row.enabled,
    }
    ins = insert(Source).values(**values)
    stmt = ins.on_conflict_do_update(
        index_elements=[Source.key],
        set_={**{k: ins.excluded[k] for k in values if k != "key"}, "updated_at": func.now()},
    ).returning(Source.id)
    return int(session.execute(stmt).scalar_one())


def source_id(session: Session, key: str) -> int | None:
    """Id of the source with ``key``, or None."""
    return session.execute(select(Source.id).where(Source.key == key)).scalar_one_or_none()


def upsert_articles(
    session: Session,
    items: Sequence[StoredArticle],
    *,
    page_writer: pagestore.WarcPageWriter | None = None,
) -> UpsertResult:
    """Insert new articles and update known ones by canonical URL, a few statements a batch.

    A changed ``content_hash`` bumps ``version`` and archives the previous content in
    ``article_versions`` (database trigger, same transaction); an unchanged one keeps
    its version and only moves ``last_seen_at`` (its stored page stays: it is the
    page the content came from). Several items with one URL in a batch
    are merged (the last wins) and counted in ``merged``. New and changed articles are
    linked to the earliest near-duplicate (`link_duplicates`); writers are serialized by
    `ARTICLES_WRITE_LOCK` until the caller commits.

    Statements per batch, whatever its size: the lock, one lookup of the known hashes,
    one touch of the unchanged, one INSERT of the new, one UPDATE of the changed (each
    with one array parameter per column), the duplicate links, one upsert of the pages,
    and the field counts of every stored record (new, changed and unchanged) added to
    their source's day and run (`storage.fieldstats`: a lookup of the sources'
    languages, two upserts).
    The pages are zlib-compressed in a helper thread while the database writes the
    articles; with a ``page_writer`` (``NEWSINGEST_PAGE_STORE=warc``) that thread appends
    them to its WARC files instead (flushed and fsynced before the pages upsert, so
    before the caller commits) and ``pages`` keeps their locations, not the HTML.
    """
    result = UpsertResult()
    by_url: dict[str, StoredArticle] = {}
    for item in items:
        if item.record.url in by_url:
            result.merged += 1
        by_url[item.record.url] = item
    if not by_url:
        return result
    lock_articles(session)
    # Results have keys(), so dict(result) would treat them as mappings: build explicitly.
    known: dict[str, str] = {}
    for url, known_hash, owner in session.execute(_KNOWN, {"urls": list(by_url)}):
        known[url] = known_hash
        if owner is not None and owner != by_url[url].source_id:
            # A source never writes over another source's article (a canonical URL
            # pointing into another source's site must not take its row over).
            result.foreign[url] = owner
    for url in result.foreign:
        del by_url[url]
    new: list[StoredArticle] = []
    changed: list[StoredArticle] = []
    unchanged: list[str] = []
    for url, item in by_url.items():
        if url not in known:
            new.append(item)
        elif known[url] != item.record.content_hash:
            changed.append(item)
        else:
            unchanged.append(url)
    result.inserted, result.updated, result.unchanged = len(new), len(changed), len(unchanged)
    # Compress the raw pages of the new and changed articles while the database works.
    paged = [item for item in (*new, *changed) if item.page is not None]
    compressed = _compress_pages(paged, page_writer)

    # Unchanged content: only last_seen_at moves (no full-text parse, no new raw page).
    if unchanged:
        touched = session.execute(_TOUCH_UNCHANGED, {"urls": unchanged})
        result.ids.update({url: article_id for url, article_id in touched})
    if changed:
        rows = _run_binary(session, _UPDATE_CHANGED, _article_arrays(changed))
        result.ids.update({url: article_id for url, article_id in rows})
        # Deleted since the lookup (only possible to a writer without the lock): insert.
        new.extend(item for item in changed if item.record.url not in result.ids)
    if new:
        rows = _run_binary(session, _INSERT_NEW, _article_arrays(new))
        result.ids.update({url: article_id for url, article_id in rows})
    for item in (*new, *changed):  # taken meanwhile by another source's writer
        if item.record.url not in result.ids:
            result.foreign.setdefault(item.record.url, 0)
    new_ids = [result.ids[url] for url in by_url if url not in known and url in result.ids]
    changed_ids = [result.ids[item.record.url] for item in changed if item.record.url in known
                   and item.record.url in result.ids]  # fmt: skip
    result.linked = link_duplicates(session, new_ids, changed=changed_ids)

    _count_fields(session, [item for item in by_url.values() if item.record.url in result.ids])

    stored_pages = compressed.result() if compressed is not None else []
    if paged:
        kept = [(item, page) for item, page in zip(paged, stored_pages, strict=True)
                if item.record.url in result.ids]  # fmt: skip
        if kept:
            _run_binary(
                session,
                _UPSERT_PAGES,
                _page_arrays([i for i, _ in kept], [h for _, h in kept], result.ids),
            )
    return result


def _count_fields(session: Session, stored: Sequence[StoredArticle]) -> None:
    """Add the field counts of ``stored`` to their sources' days and runs
    (`storage.fieldstats`)."""
    groups: dict[tuple[int, int | None], list[ArticleRecord]] = {}
    for item in stored:
        if item.source_id is not None:
            groups.setdefault((item.source_id, item.run_id), []).append(item.record)
    if not groups:
        return
    languages = fieldstats.source_languages(session, (sid for sid, _ in groups))
    fieldstats.add_counts(
        session,
        {
            key: fieldstats.count_records(records, languages.get(key[0]))
            for key, records in groups.items()
        },
    )


def _run_binary(session: Session, sql: str, params: dict[str, Any]) -> list[Any]:
    """Run ``sql`` (psycopg placeholders, ``%(name)b``: binary) in the session's transaction.

    Through SQLAlchemy's driver-level execute, so errors arrive wrapped as usual (a lost
    connection is a `DBAPIError` that invalidates it; `writes.is_transient_db_error` relies
    on that). Returns the result rows, if any.
    """
    result = session.connection().exec_driver_sql(sql, params)
    return list(result.all()) if result.returns_rows else []


def _article_arrays(items: Sequence[StoredArticle]) -> dict[str, list[Any]]:
    """One list per ``articles`` column of ``items`` (parameters of `_UNNEST`)."""
    columns = [record_columns(item.record) for item in items]
    arrays: dict[str, list[Any]] = {c: [row[c] for row in columns] for c in _ARRAY_COLUMNS[1:]}
    arrays["source_id"] = [item.source_id for item in items]
    for name in _TEXT_ARRAYS:
        arrays[name] = [_text_array_literal(v) for v in arrays[name]]
    return arrays


def _text_array_literal(values: Sequence[str]) -> str:
    """``values`` as a PostgreSQL ``text[]`` input literal (every element quoted)."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


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


def _compress_pages(
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
                )
                for p in pages
            ]
        )
        return [
            _PageBody(None, loc, pagestore.body_sha256(p.html))
            for p, loc in zip(pages, locations, strict=True)
        ]

    return _compressor().submit(write)


def lock_articles(session: Session) -> None:
    """Take `ARTICLES_WRITE_LOCK` for the rest of the session's transaction."""
    session.execute(
        select(WriteLock.name).where(WriteLock.name == ARTICLES_WRITE_LOCK).with_for_update()
    ).scalar_one()


def link_duplicates(session: Session, ids: Sequence[int], *, changed: Sequence[int] = ()) -> int:
    """Point ``duplicate_of`` of ``ids`` and ``changed`` at their earliest near-duplicate.

    Earliest means smallest ``(first_seen_at, id)`` among the articles stored before;
    a near-duplicate has the same ``content_hash`` or a simhash at most
    `NEAR_DUPLICATE_DISTANCE` bits away. Links always point back in time, so they never
    form cycles. For ``changed`` articles (new content), the later articles that match
    their new content or pointed at them are linked again too. Returns how many
    ``duplicate_of`` values changed. Call it holding `lock_articles`.
    """
    targets = set(ids) | set(changed)
    if changed:
        targets.update(
            session.execute(_AFFECTED_BY_CHANGE, {"ids": sorted(set(changed))}).scalars()
        )
    if not targets:
        return 0
    cursor = session.execute(_RELINK, {"ids": sorted(targets)})
    return int(cursor.rowcount)  # type: ignore[attr-defined]


@dataclass(slots=True)
class ReextractResult:
    """Counts of one `apply_reextraction` call."""

    changed: int = 0
    """Articles whose content changed: a new version was archived."""
    unchanged: int = 0
    """Articles whose content stayed; their metadata and ``extractor_version`` were refreshed."""
    linked: int = 0


def apply_reextraction(
    session: Session, records: Sequence[tuple[int, ArticleRecord]]
) -> ReextractResult:
    """Overwrite articles by id with records re-extracted from their stored pages.

    The stored ``url`` and ``last_seen_at`` stay (nothing was crawled); every other
    record column is replaced, so a changed ``content_hash`` archives the previous
    content as a version (trigger) and links duplicates again.
    """
    result = ReextractResult()
    if not records:
        return result
    lock_articles(session)
    by_id = dict(records)
    old = {
        article_id: content_hash
        for article_id, content_hash in session.execute(
            select(Article.id, Article.content_hash).where(Article.id.in_(list(by_id)))
        )
    }
    params = []
    for article_id, record in by_id.items():
        if article_id not in old:
            continue
        cols = record_columns(record)
        params.append({"id": article_id, **{c: cols[c] for c in ARTICLE_RECORD_COLUMNS}})
    if params:
        session.execute(update(Article), params)
    changed = [i for i, r in by_id.items() if i in old and old[i] != r.content_hash]
    result.changed = len(changed)
    result.unchanged = len(params) - len(changed)
    result.linked = link_duplicates(session, (), changed=changed)
    return result


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
            Page.html_zlib,
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
                url=row[1], status=row[2], content_type=row[3], fetched_at=row[4], body=body
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


def insert_failures(session: Session, rows: Iterable[FailureRow]) -> int:
    """Record failures; returns how many. Rejections by extraction (stage ``extract``) are
    added to their source's day and run counts (`storage.fieldstats`)."""
    rows_list = list(rows)
    values = [
        {
            "url": r.url,
            "stage": r.stage,
            "reason": r.reason[:500],
            "status": r.status,
            "detail": (r.detail or None) and r.detail[:4000],
            "source_id": r.source_id,
            "run_id": r.run_id,
        }
        for r in rows_list
    ]
    if values:
        session.execute(insert(FetchFailure).values(values))
        rejected: dict[tuple[int, int | None], list[str]] = {}
        for r in rows_list:
            if r.stage == "extract" and r.source_id is not None:
                rejected.setdefault((r.source_id, r.run_id), []).append(r.reason[:500])
        if rejected:
            fieldstats.add_counts(
                session,
                {key: fieldstats.count_rejections(reasons) for key, reasons in rejected.items()},
            )
    return len(values)


def stored_urls(session: Session, urls: Sequence[str]) -> set[str]:
    """Those of ``urls`` already stored, as canonical, requested or final URL."""
    if not urls:
        return set()
    wanted = list(urls)
    stmt = union(  # one round trip, three index lookups
        select(Article.url).where(Article.url.in_(wanted)),
        select(Page.requested_url).where(Page.requested_url.in_(wanted)),
        select(Page.final_url).where(Page.final_url.in_(wanted)),
    )
    return set(session.execute(stmt).scalars())


def article_count(session: Session, source_key: str | None = None) -> int:
    """How many articles are stored (for one source when ``source_key`` is given)."""
    stmt = select(func.count()).select_from(Article)
    if source_key:
        stmt = stmt.join(Source, Source.id == Article.source_id).where(Source.key == source_key)
    return int(session.execute(stmt).scalar_one())


def latest_articles(
    session: Session, *, source_key: str | None = None, limit: int = 20
) -> list[Any]:
    """Newest stored articles (by first_seen_at) with their source key."""
    stmt = (
        select(Article, Source.key)
        .outerjoin(Source, Source.id == Article.source_id)
        .order_by(Article.first_seen_at.desc(), Article.id.desc())
        .limit(limit)
    )
    if source_key:
        stmt = stmt.where(Source.key == source_key)
    return list(session.execute(stmt))


def ping(session: Session) -> None:
    """Raise when the database does not answer."""
    session.execute(text("SELECT 1"))


@dataclass(frozen=True, slots=True)
class Validators:
    """HTTP cache validators of one URL."""

    url: str
    etag: str | None
    last_modified: str | None
    status: int | None = None
    source_id: int | None = None


def get_validators(session: Session, urls: Sequence[str]) -> dict[str, Validators]:
    """Remembered validators of those ``urls`` that have any."""
    if not urls:
        return {}
    rows = session.execute(
        select(UrlState.url, UrlState.etag, UrlState.last_modified, UrlState.status).where(
            UrlState.url.in_(list(urls))
        )
    )
    return {url: Validators(url, etag, lm, status) for url, etag, lm, status in rows}


def save_validators(session: Session, rows: Iterable[Validators]) -> int:
    """Insert or replace validators; returns how many rows were written."""
    values = [
        {
            "url": v.url,
            "etag": v.etag,
            "last_modified": v.last_modified,
            "status": v.status,
            "source_id": v.source_id,
        }
        for v in rows
    ]
    if not values:
        return 0
    ins = insert(UrlState).values(values)
    session.execute(
        ins.on_conflict_do_update(
            index_elements=[UrlState.url],
            set_={
                "etag": ins.excluded.etag,
                "last_modified": ins.excluded.last_modified,
                "status": ins.excluded.status,
                "source_id": func.coalesce(ins.excluded.source_id, UrlState.source_id),
                "checked_at": func.now(),
            },
        )
    )
    return len(values)
