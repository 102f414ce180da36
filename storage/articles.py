"""Articles: the batch upsert by canonical URL, re-extraction, and the reads of stored
articles. Every function takes a session and never commits: the caller owns the
transaction (`storage.db.transaction`). Inputs are plain values (`StoredArticle`) so this
module knows nothing of Scrapy. Raw pages are written by `storage.pages`, duplicate links
by `storage.duplicates`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from sqlalchemy import ARRAY, func, select, text, union, update
from sqlalchemy.orm import Session

from crawler.extraction.record import ArticleRecord, TranslationNote
from storage import fieldstats, pagestore, search_index
from storage.db import array_type
from storage.db import run_binary as _run_binary
from storage.duplicates import link_duplicates
from storage.models import Article, Page, Source, WriteLock
from storage.pages import StoredPage, compress_pages, upsert_pages

logger = logging.getLogger(__name__)

LATER_RECORD_COLUMNS = ("credits", "published_utc_offset", "stub")
"""Record columns added after schema v1 (migrations 0007 and 0009), in the order they were
added: last in ``articles`` and, after every earlier column, in ``article_feed`` (whose
columns are only ever appended)."""

_TRANSLATION_PREFIX = "translation_"
"""An `ArticleRecord`'s ``translation`` (a `TranslationNote`) is kept flat: its field
``note`` in the column ``translation_note``, and so on."""

RECORD_FIELD_COLUMNS: tuple[str, ...] = tuple(
    f.name for f in fields(ArticleRecord) if f.name != "translation"
) + tuple(_TRANSLATION_PREFIX + f.name for f in fields(TranslationNote))
"""The ``articles`` column of each `ArticleRecord` field, ``url`` included. Every one must
exist in the model (a unit test checks it): a field without a column would not be stored."""

ARTICLE_RECORD_COLUMNS: tuple[str, ...] = tuple(
    c.name for c in Article.__table__.columns if c.name in RECORD_FIELD_COLUMNS and c.name != "url"
)
"""``articles`` columns filled from an `ArticleRecord` (besides ``url``), in the model's
(and the table's) column order: the record's fields with a column in `Article`."""

ARTICLES_WRITE_LOCK = "articles"
"""The ``write_locks`` row whose row lock serializes article writers from their first read
until commit, so that near-duplicate links see every committed article and
``first_seen_at`` follows the order in which articles were stored. A row lock, not an
advisory lock: only the ingesting role (UPDATE privilege) can take it, so a read-only
login cannot stall storing."""


# Batch writes pass one array per column and unnest them server-side: one statement of
# constant text per batch (psycopg prepares it after a few uses), no per-row SQL to build.
# They run with binary parameters (`_run_binary`):
# in text form a batch of compressed pages travels hex-escaped, 10x slower end to end.
_ARRAY_COLUMNS = ("source_id", "url", *ARTICLE_RECORD_COLUMNS)


_ARRAY_TYPES = {c: array_type(Article.__table__.c[c]) for c in _ARRAY_COLUMNS}
_TEXT_ARRAYS = tuple(c for c in _ARRAY_COLUMNS if isinstance(Article.__table__.c[c].type, ARRAY))
_UNNEST = (
    "unnest("
    + ", ".join(f"CAST(%({c})b AS {_ARRAY_TYPES[c]}[])" for c in _ARRAY_COLUMNS)
    + ") AS r("
    + ", ".join(_ARRAY_COLUMNS)
    + ")"
)


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


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An extracted record with where it came from, ready to upsert."""

    record: ArticleRecord
    source_id: int | None
    page: StoredPage | None = None
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
    """The ``articles`` column values of ``record`` (``url`` and `ARTICLE_RECORD_COLUMNS`;
    tuples as lists)."""
    tr = record.translation
    values: dict[str, Any] = {}
    for column in ("url", *ARTICLE_RECORD_COLUMNS):
        if column.startswith(_TRANSLATION_PREFIX):
            value = getattr(tr, column.removeprefix(_TRANSLATION_PREFIX)) if tr else None
        else:
            value = getattr(record, column)
        values[column] = list(value) if isinstance(value, tuple) else value
    return values


def merge_search_entries(session: Session) -> int:
    """Merge the search index's pending lists into its segments; the number of pages emptied
    (`storage.search_index.merge_pending`).

    One merge of many articles' entries costs less per article than the several smaller
    ones the inserts would run (each distinct word's place in the index is written once
    per merge), and it runs in its own transaction instead of an insert's. It needs to own
    the index (as ``VACUUM`` does): for another role it raises (insufficient privilege).
    """
    return search_index.merge_pending(session)


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
    compressed = compress_pages(paged, page_writer)

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
            upsert_pages(session, [i for i, _ in kept], [h for _, h in kept], result.ids)
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


def lock_articles(session: Session) -> None:
    """Take `ARTICLES_WRITE_LOCK` for the rest of the session's transaction."""
    session.execute(
        select(WriteLock.name).where(WriteLock.name == ARTICLES_WRITE_LOCK).with_for_update()
    ).scalar_one()


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
