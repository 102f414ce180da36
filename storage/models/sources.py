"""The sources aggregate: ``sources`` (one row per source of the sources file) and
``url_state`` (the HTTP validators of its discovery URLs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, SmallInteger, func
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base


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


class UrlState(Base):
    """HTTP validators remembered per discovery URL (feeds, sitemaps) for conditional GETs."""

    __tablename__ = "url_state"

    url: Mapped[str] = mapped_column(primary_key=True)
    source_id: Mapped[int | None] = mapped_column(ForeignKey("sources.id", ondelete="CASCADE"))
    etag: Mapped[str | None]
    last_modified: Mapped[str | None]
    status: Mapped[int | None] = mapped_column(SmallInteger)
    checked_at: Mapped[datetime] = mapped_column(server_default=func.now())
