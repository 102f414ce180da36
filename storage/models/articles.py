"""The articles aggregate: ``articles`` (the contract with downstream tools),
``article_versions`` (previous contents) and ``pages`` (each article's last stored fetch);
the SQL of their generated and checked columns, which migrations use too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base

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
        # the search index's first segment; `storage.search_index` adds and closes
        # segments as the ids grow (migration 0019), so only this one is modelled
        Index(
            "ix_articles_search_vector_from_0",
            "search_vector",
            postgresql_using="gin",
            postgresql_with={"gin_pending_list_limit": 16384},
            postgresql_where=sql("(id + 0) >= 0"),
        ),
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
