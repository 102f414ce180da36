"""Fetch failures: URLs that produced no article, and why. Takes a session and never
commits (`storage.db.transaction` does).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from crawler.extraction.sanitize import clean_text
from storage import fieldstats
from storage.models import FetchFailure


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


def insert_failures(session: Session, rows: Iterable[FailureRow]) -> int:
    """Record failures; returns how many. Rejections by extraction (stage ``extract``) are
    added to their source's day and run counts (`storage.fieldstats`).

    Strings are cleaned first (`clean_text`): a URL or detail read from a damaged page or
    archive may hold NUL, which PostgreSQL refuses, and one such row failed the whole
    insert (an archive ingest lost every damage report of its run that way)."""
    rows_list = list(rows)
    values = [
        {
            "url": clean_text(r.url),
            "stage": r.stage,
            "reason": clean_text(r.reason[:500]),
            "status": r.status,
            "detail": (r.detail or None) and clean_text(r.detail[:4000]),
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
