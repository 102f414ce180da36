"""The schema: SQLAlchemy 2 typed models of every table newsingest owns.

Migrations in ``migrations/versions`` are the source of truth for the database; these
models must match them (``alembic check`` passes in the tests). Things models cannot
express (the trigger that archives previous versions) live in the migrations and are
described in docs/schema.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEXT_SEARCH_CONFIGS = {
    "da": "danish",
    "de": "german",
    "en": "english",
    "es": "spanish",
    "fi": "finnish",
    "fr": "french",
    "hu": "hungarian",
    "it": "italian",
    "nl": "dutch",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sv": "swedish",
    "tr": "turkish",
}
"""Article language (ISO 639-1) -> PostgreSQL text search configuration; else ``simple``."""

PRECISIONS = ("year", "month", "day", "minute")
RUN_STATUSES = ("running", "succeeded", "failed", "interrupted", "abandoned", "skipped")
RUN_KINDS = ("crawl", "warc")
"""``crawl_runs.kind``: a crawl of a source, or an ingest of WARC/ARC files (migration 0013)."""
FAILURE_STAGES = ("discovery", "fetch", "extract", "store")
STUB_KINDS = ("paywall", "video")
"""Values of ``stub`` (``ArticleRecord.stub``): ``ck_articles_stub``."""

SIMHASH_BANDS = 4
"""The 64-bit simhash is indexed as this many 16-bit bands (``simhash_band0`` .. ``3``)."""

MAX_UTC_OFFSET_MINUTES = 18 * 60
"""``published_utc_offset`` lies within this many minutes either side of UTC (ISO 8601's
and PostgreSQL's range of offsets): ``ck_articles_published_utc_offset``."""

NEAR_DUPLICATE_DISTANCE = 3
"""Two simhashes at most this many bits apart (of 64) are the same story; with four bands,
any such pair shares at least one band exactly (pigeonhole), so the band indexes find it."""


def _ts_config_sql(row: str = "") -> str:
    whens = " ".join(
        f"WHEN '{code}' THEN '{cfg}'::regconfig" for code, cfg in TEXT_SEARCH_CONFIGS.items()
    )
    return f"CASE {row}language {whens} ELSE 'simple'::regconfig END"


def search_vector_sql(row: str = "") -> str:
    """The ``articles.search_vector`` expression: title A, lead B, text C.

    ``row`` prefixes the column names (``NEW.`` inside the trigger that maintains it).
    """
    cfg = _ts_config_sql(row)
    return (
        f"setweight(to_tsvector({cfg}, coalesce({row}title, '')), 'A') || "
        f"setweight(to_tsvector({cfg}, coalesce({row}lead, '')), 'B') || "
        f"setweight(to_tsvector({cfg}, coalesce({row}text, '')), 'C')"
    )


def stub_check_sql() -> str:
    """The ``ck_articles_stub`` / ``ck_article_versions_stub`` condition."""
    return "stub IN (" + ", ".join(f"'{kind}'" for kind in STUB_KINDS) + ")"


def simhash_band_sql(band: int) -> str:
    """The generated ``articles.simhash_band<band>`` expression: bits 16*band .. 16*band+15."""
    return f"((simhash >> {16 * band}) & 65535)::integer"


class Base(DeclarativeBase):
    """Declarative base with the naming convention every constraint follows."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {  # noqa: RUF012
        datetime: DateTime(timezone=True),
        str: Text,
    }


class Source(Base):
    """A news source from the sources file, keyed by its ``key``."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    url: Mapped[str]
    language: Mapped[str | None]
    country: Mapped[str | None]
    enabled: Mapped[bool] = mapped_column(server_default=sql("true"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Article(Base):
    """One row per canonical URL; the columns are the contract with downstream tools."""

    __tablename__ = "articles"
    __table_args__ = (
        CheckConstraint(
            "published_precision IN ('year', 'month', 'day', 'minute')", name="published_precision"
        ),
        Index(
            "ix_articles_source_id_published_at",
            "source_id",
            sql("published_at DESC NULLS LAST"),
        ),
        Index("ix_articles_published_at", sql("published_at DESC NULLS LAST")),
        Index(
            "ix_articles_language_published_at",
            "language",
            sql("published_at DESC NULLS LAST"),
        ),
        Index(None, "source_id", "first_seen_at"),
        Index(None, "content_hash"),
        Index(None, "search_vector", postgresql_using="gin"),
        Index(None, "duplicate_of"),
        Index(None, "simhash_band0", postgresql_include=["simhash", "id"]),
        Index(None, "simhash_band1", postgresql_include=["simhash", "id"]),
        Index(None, "simhash_band2", postgresql_include=["simhash", "id"]),
        Index(None, "simhash_band3", postgresql_include=["simhash", "id"]),
        CheckConstraint(
            f"published_utc_offset BETWEEN -{MAX_UTC_OFFSET_MINUTES} AND {MAX_UTC_OFFSET_MINUTES}",
            name="published_utc_offset",
        ),
        CheckConstraint(stub_check_sql(), name="stub"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(unique=True)
    title: Mapped[str | None]
    lead: Mapped[str | None]
    text: Mapped[str]
    authors: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql("'{}'"))
    byline: Mapped[str | None]
    published_at: Mapped[datetime | None]
    published_precision: Mapped[str | None]
    published_raw: Mapped[str | None]
    modified_at: Mapped[datetime | None]
    language: Mapped[str | None] = mapped_column(String(8))
    language_confidence: Mapped[float | None] = mapped_column(Double)
    declared_language: Mapped[str | None] = mapped_column(String(8))
    translation_source_language: Mapped[str | None] = mapped_column(String(8))
    translation_original_outlet: Mapped[str | None]
    translation_original_published_at: Mapped[datetime | None]
    translation_note: Mapped[str | None]
    site_name: Mapped[str | None]
    section: Mapped[str | None]
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql("'{}'"))
    image_url: Mapped[str | None]
    word_count: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    simhash: Mapped[int] = mapped_column(BigInteger)
    extractor_version: Mapped[str]
    version: Mapped[int] = mapped_column(Integer, server_default=sql("1"))
    first_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    fetched_at: Mapped[datetime | None]
    search_vector: Mapped[Any] = mapped_column(TSVECTOR, deferred=True)
    """Full-text vector kept by the trigger ``trg_articles_search_vector`` (migration 0004):
    computed on insert and when title, lead, text or language change, not on every
    update (a generated column was recomputed even when only ``last_seen_at`` moved)."""
    duplicate_of: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("articles.id", ondelete="SET NULL")
    )
    """The earliest article with the same ``content_hash`` or a simhash within
    `NEAR_DUPLICATE_DISTANCE` bits (set at insert time by ``upsert_articles``)."""
    simhash_band0: Mapped[int] = mapped_column(
        Integer, Computed(simhash_band_sql(0), persisted=True), deferred=True
    )
    simhash_band1: Mapped[int] = mapped_column(
        Integer, Computed(simhash_band_sql(1), persisted=True), deferred=True
    )
    simhash_band2: Mapped[int] = mapped_column(
        Integer, Computed(simhash_band_sql(2), persisted=True), deferred=True
    )
    simhash_band3: Mapped[int] = mapped_column(
        Integer, Computed(simhash_band_sql(3), persisted=True), deferred=True
    )
    credits: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql("'{}'"))
    """Organisations credited (agencies, desks, the outlet itself); persons are in
    ``authors``. Added by migration 0007, hence last."""
    published_utc_offset: Mapped[int | None] = mapped_column(Integer)
    """Minutes east of UTC the page stated with the publication time (CET: 60), None
    when it stated none; ``published_at`` plus it is the outlet's wall clock."""
    stub: Mapped[str | None]
    """``paywall`` or ``video`` when the body is only part of the article (the lead
    before a paywall, the text beside a video), None for a full article. Added by
    migration 0009, hence last."""


class ArticleVersion(Base):
    """A previous content of an article, archived when a re-crawl changed it."""

    __tablename__ = "article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "version"),
        CheckConstraint(
            f"published_utc_offset BETWEEN -{MAX_UTC_OFFSET_MINUTES} AND {MAX_UTC_OFFSET_MINUTES}",
            name="published_utc_offset",
        ),
        CheckConstraint(stub_check_sql(), name="stub"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None]
    lead: Mapped[str | None]
    text: Mapped[str]
    authors: Mapped[list[str]] = mapped_column(ARRAY(Text))
    byline: Mapped[str | None]
    published_at: Mapped[datetime | None]
    modified_at: Mapped[datetime | None]
    content_hash: Mapped[str] = mapped_column(String(64))
    simhash: Mapped[int] = mapped_column(BigInteger)
    extractor_version: Mapped[str]
    fetched_at: Mapped[datetime | None]
    replaced_at: Mapped[datetime] = mapped_column(server_default=func.now())
    credits: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default=sql("'{}'"))
    published_utc_offset: Mapped[int | None] = mapped_column(Integer)
    stub: Mapped[str | None]


class Page(Base):
    """An article's last stored fetch, for re-extraction: its raw HTML zlib-compressed in
    ``html_zlib``, or (``NEWSINGEST_PAGE_STORE=warc``, migration 0015) where its WARC
    record is (`storage.pagestore`)."""

    __tablename__ = "pages"
    __table_args__ = (
        CheckConstraint("html_zlib IS NOT NULL OR warc_file IS NOT NULL", name="stored"),
        CheckConstraint(
            "(warc_file IS NULL) = (warc_offset IS NULL)"
            " AND (warc_file IS NULL) = (warc_length IS NULL)",
            name="warc_location",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), unique=True
    )
    requested_url: Mapped[str] = mapped_column(index=True)
    final_url: Mapped[str] = mapped_column(index=True)
    status: Mapped[int] = mapped_column(SmallInteger)
    content_type: Mapped[str | None]
    html_zlib: Mapped[bytes | None] = mapped_column(LargeBinary)
    """None when the page is in a WARC file (``warc_file``)."""
    fetched_at: Mapped[datetime]
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="SET NULL"), index=True
    )
    """Indexed (migration 0011): deleting a run sets it NULL here, one lookup per run."""
    warc_file: Mapped[str | None]
    """The WARC file holding the page, relative to ``NEWSINGEST_PAGE_WARC_DIR`` (migration
    0015; None: the page is in ``html_zlib``)."""
    warc_offset: Mapped[int | None] = mapped_column(BigInteger)
    """Byte offset of the record's gzip member in ``warc_file``."""
    warc_length: Mapped[int | None] = mapped_column(BigInteger)
    """Bytes of that gzip member."""
    body_sha256: Mapped[str | None] = mapped_column(String(64))
    """Hex SHA-256 of the raw page as fetched (None for pages stored before 0015)."""
    http_headers: Mapped[list[list[str]] | None] = mapped_column(JSONB)
    """The response's headers as ``[name, value]`` pairs (migration 0016; NULL before)."""


class CrawlRun(Base):
    """One crawl of one source by one process: who, when, how it ended, its stats."""

    __tablename__ = "crawl_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'succeeded', 'failed', 'interrupted', 'abandoned', 'skipped')",
            name="status",
        ),
        Index(None, "source_id", "started_at"),
        Index(None, "started_at", "id"),
        Index(
            "ix_crawl_runs_source_id_finished_at_succeeded",
            "source_id",
            "finished_at",
            postgresql_where=sql("status = 'succeeded'"),
        ),
        Index(None, "crawl_id", postgresql_where=sql("crawl_id IS NOT NULL")),
        Index(
            "ix_crawl_runs_started_at_id_warc",
            "started_at",
            "id",
            postgresql_where=sql("kind = 'warc'"),
        ),
        CheckConstraint("kind IN ('crawl', 'warc')", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    crawl_id: Mapped[str | None]
    trigger: Mapped[str]
    host: Mapped[str]
    pid: Mapped[int] = mapped_column(Integer)
    status: Mapped[str]
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))
    error: Mapped[str | None]
    kind: Mapped[str] = mapped_column(server_default=sql("'crawl'"))
    """``crawl`` or ``warc`` (an ingest of archive files, `newsingest warc`; migration 0013)."""


class WarcFile(Base):
    """The checkpoint of one archive file of `newsingest warc` (migration 0013): every
    record before ``offset`` is stored (or recorded as a failure); ``done`` once the file
    was read to its end."""

    __tablename__ = "warc_files"

    location: Mapped[str] = mapped_column(primary_key=True)
    """The file's absolute path, or its http(s) URL."""
    size: Mapped[int | None] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    records: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    """Archive records read before ``offset``."""
    done: Mapped[bool] = mapped_column(server_default=sql("false"))
    run_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), server_default=sql("'{}'"))
    """The ``warc`` runs that read the file, oldest first."""
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]


class CrawlLock(Base):
    """The lock of one source: a crawl holds a row lock on its row (``FOR UPDATE``; the
    workers of a distributed crawl ``FOR SHARE``) for as long as it crawls the source.
    Row locks need UPDATE privilege, which a read-only role lacks."""

    __tablename__ = "crawl_locks"

    source_key: Mapped[str] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WriteLock(Base):
    """A named lock of writers: a transaction that writes articles holds a row lock
    (``FOR UPDATE``) on the ``articles`` row until it commits."""

    __tablename__ = "write_locks"

    name: Mapped[str] = mapped_column(primary_key=True)


class FetchFailure(Base):
    """A URL that yielded no article, and why: fetch errors, rejections, store errors."""

    __tablename__ = "fetch_failures"
    __table_args__ = (
        CheckConstraint(
            "stage IN ('discovery', 'fetch', 'extract', 'store')",
            name="stage",
        ),
        Index(None, "run_id"),
        Index(None, "source_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id", ondelete="SET NULL"))
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="SET NULL"))
    url: Mapped[str]
    stage: Mapped[str]
    reason: Mapped[str]
    status: Mapped[int | None] = mapped_column(SmallInteger)
    detail: Mapped[str | None]
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SourceDailyStats(Base):
    """Crawl runs and fetch failures of one source on one UTC day, added up by
    ``newsingest db prune`` before it deletes them (migration 0011); and the field
    counts of the records stored and pages rejected that day, added up as they are
    written (migration 0012, `storage.fieldstats`)."""

    __tablename__ = "source_daily_stats"

    source_id: Mapped[int] = mapped_column(
        ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    runs: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    runs_succeeded: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    runs_failed: Mapped[int] = mapped_column(Integer, server_default=sql("0"))
    pages: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    articles_inserted: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    articles_updated: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    failures: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    # Added at write time (migration 0012): the field counts of the day's stored records.
    records: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_title: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_lead: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_authors: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_minute: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_day: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_month: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_year: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    language_agrees: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_translation: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    rejected: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    words_hist: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), server_default=sql("'{}'::bigint[]")
    )
    rejections: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))


class RunFieldStats(Base):
    """The field counts of the records one crawl run stored and the pages it rejected
    (migration 0012), added to by the write path like ``source_daily_stats``."""

    __tablename__ = "run_field_stats"
    __table_args__ = (Index(None, "source_id", "run_id"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("crawl_runs.id", ondelete="CASCADE"), primary_key=True
    )
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    records: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_title: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_lead: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_authors: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_minute: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_day: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_month: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    published_year: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    language_agrees: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    with_translation: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    rejected: Mapped[int] = mapped_column(BigInteger, server_default=sql("0"))
    words_hist: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), server_default=sql("'{}'::bigint[]")
    )
    rejections: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=sql("'{}'::jsonb"))


class UrlState(Base):
    """HTTP validators remembered per discovery URL (feeds, sitemaps) for conditional GETs."""

    __tablename__ = "url_state"

    url: Mapped[str] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]
    status: Mapped[int | None] = mapped_column(SmallInteger)
    checked_at: Mapped[datetime] = mapped_column(server_default=func.now())
