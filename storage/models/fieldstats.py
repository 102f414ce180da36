"""Field counts: ``source_daily_stats`` (a source's day) and ``run_field_stats`` (a run),
kept by the write path and ``newsingest db prune`` (`storage.fieldstats`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


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
