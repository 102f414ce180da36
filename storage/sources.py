"""Sources: the rows of the sources file. Takes a session and never commits
(`storage.db.transaction` does).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from storage.models import Source


@dataclass(frozen=True, slots=True)
class SourceRow:
    """What the database keeps of a source from the sources file."""

    key: str
    name: str
    url: str
    language: str | None = None
    country: str | None = None
    enabled: bool = True


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
