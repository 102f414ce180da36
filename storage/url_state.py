"""URL state: the HTTP cache validators remembered per URL for conditional requests.
Takes a session and never commits (`storage.db.transaction` does).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from storage.models import UrlState


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
