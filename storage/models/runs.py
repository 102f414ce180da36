"""Crawl runs and what they hold: ``crawl_runs`` (one crawl of one source by one process),
``fetch_failures`` (URLs of a run that gave no article, and why), ``warc_files`` (the
checkpoints of archive ingests) and the locks (``crawl_locks``, ``write_locks``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, SmallInteger, func
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base

RUN_STATUSES = ("running", "succeeded", "failed", "interrupted", "abandoned", "skipped")
RUN_KINDS = ("crawl", "warc")
"""``crawl_runs.kind``: a crawl of a source, or an ingest of WARC/ARC files (migration 0013)."""
FAILURE_STAGES = ("discovery", "fetch", "extract", "store")


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
