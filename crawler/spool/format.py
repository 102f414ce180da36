"""The spool's format (version 1): an entry as one JSON line, and back.

One file per spooled batch, UTF-8 JSON lines, one entry a line::

    {"v": 1, "kind": "article", "source_key": ..., "run_id": ..., "error": ...,
     "record": {ArticleRecord fields}, "page": {..., "html": base64} | null}
    {"v": 1, "kind": "failure", "source_key": ..., "run_id": ..., "error": ...,
     "failure": {"url", "stage", "reason", "status", "detail"}}
    {"v": 1, "kind": "run_finish", "run_id": ..., "status": ..., "stats": {...}, ...}
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, get_args

from crawler.extraction.record import ArticleRecord, StubKind, TranslationNote
from storage.articles import StoredArticle
from storage.failures import FailureRow
from storage.pages import StoredPage
from storage.writes import (
    PendingArticle,
    PendingFailure,
    PendingRunFinish,
)

if TYPE_CHECKING:
    pass


VERSION = 1


Entry = PendingArticle | PendingFailure | PendingRunFinish
"""One line of the spool."""


_DATETIME_FIELDS = frozenset({"published_at", "modified_at", "fetched_at"})


_TUPLE_FIELDS = frozenset({"authors", "credits", "tags"})


_STUB_KINDS = frozenset(get_args(StubKind))


class SpoolFormatError(ValueError):
    """A spool line that is not a complete, valid entry."""


def _dt(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SpoolFormatError(f"{name}: expected an ISO date-time, got {type(value).__name__}")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SpoolFormatError(f"{name}: {exc}") from exc
    if parsed.tzinfo is None:
        raise SpoolFormatError(f"{name}: date-time without a time zone")
    return parsed


def record_to_json(record: ArticleRecord) -> dict[str, Any]:
    """An `ArticleRecord` as JSON-safe values (inverse: `record_from_json`)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(record):
        value = getattr(record, f.name)
        if f.name in _DATETIME_FIELDS:
            value = _dt(value)
        elif f.name in _TUPLE_FIELDS:
            value = list(value)
        elif f.name == "translation" and value is not None:
            value = {
                "note": value.note,
                "source_language": value.source_language,
                "original_outlet": value.original_outlet,
                "original_published_at": _dt(value.original_published_at),
            }
        out[f.name] = value
    return out


def record_from_json(data: Any) -> ArticleRecord:
    """Rebuild an `ArticleRecord` from `record_to_json` output; SpoolFormatError if invalid."""
    if not isinstance(data, dict):
        raise SpoolFormatError("record: expected an object")
    names = {f.name for f in dataclasses.fields(ArticleRecord)}
    values: dict[str, Any] = {k: v for k, v in data.items() if k in names}
    for name in _DATETIME_FIELDS & values.keys():
        values[name] = _parse_dt(values[name], name)
    for name in _TUPLE_FIELDS & values.keys():
        if not isinstance(values[name], list) or not all(isinstance(x, str) for x in values[name]):
            raise SpoolFormatError(f"{name}: expected a list of strings")
        values[name] = tuple(values[name])
    stub = values.get("stub")  # absent from lines spooled before the field existed
    if stub is not None and stub not in _STUB_KINDS:
        raise SpoolFormatError(f"stub: expected one of {sorted(_STUB_KINDS)} or null")
    tr = values.get("translation")
    if tr is not None:
        if not isinstance(tr, dict) or not isinstance(tr.get("note"), str):
            raise SpoolFormatError("translation: expected an object with a note")
        values["translation"] = TranslationNote(
            note=tr["note"],
            source_language=tr.get("source_language"),
            original_outlet=tr.get("original_outlet"),
            original_published_at=_parse_dt(
                tr.get("original_published_at"), "translation.original_published_at"
            ),
        )
    try:
        return ArticleRecord(**values)
    except TypeError as exc:
        raise SpoolFormatError(f"record: {exc}") from exc


def _page_to_json(page: StoredPage | None) -> dict[str, Any] | None:
    if page is None:
        return None
    return {
        "requested_url": page.requested_url,
        "final_url": page.final_url,
        "status": page.status,
        "content_type": page.content_type,
        "html": base64.b64encode(page.html).decode("ascii"),
        "fetched_at": _dt(page.fetched_at),
        "headers": None if page.headers is None else [list(h) for h in page.headers],
    }


def _headers_from_json(data: Any) -> tuple[tuple[str, str], ...] | None:
    """A page's headers: a list of [name, value] strings (absent in older spool lines)."""
    if data is None:
        return None
    if not isinstance(data, list) or not all(
        isinstance(h, list) and len(h) == 2 and all(isinstance(x, str) for x in h) for h in data
    ):
        raise SpoolFormatError("page.headers: expected a list of [name, value] strings")
    return tuple((name, value) for name, value in data)


def _page_from_json(data: Any) -> StoredPage | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise SpoolFormatError("page: expected an object")
    try:
        html = base64.b64decode(data["html"], validate=True)
        fetched_at = _parse_dt(data["fetched_at"], "page.fetched_at")
        assert fetched_at is not None
        return StoredPage(
            requested_url=str(data["requested_url"]),
            final_url=str(data["final_url"]),
            status=int(data["status"]),
            content_type=data.get("content_type"),
            html=html,
            fetched_at=fetched_at,
            headers=_headers_from_json(data.get("headers")),
        )
    except (KeyError, TypeError, AssertionError, binascii.Error) as exc:
        raise SpoolFormatError(f"page: {exc!r}") from exc


def to_json(entry: Entry, *, error: str = "") -> str:
    """One spool line (without the newline) for ``entry``."""
    line: dict[str, Any] = {"v": VERSION}
    if isinstance(entry, PendingArticle):
        art = entry.article
        line.update(
            kind="article",
            source_key=entry.source_key,
            run_id=art.run_id,
            error=error[:500],
            record=record_to_json(art.record),
            page=_page_to_json(art.page),
        )
    elif isinstance(entry, PendingFailure):
        f = entry.failure
        line.update(
            kind="failure",
            source_key=entry.source_key,
            run_id=f.run_id,
            error=error[:500],
            failure={
                "url": f.url,
                "stage": f.stage,
                "reason": f.reason,
                "status": f.status,
                "detail": f.detail,
            },
        )
    else:
        line.update(
            kind="run_finish",
            run_id=entry.run_id,
            status=entry.status,
            stats=entry.stats,
            error=entry.error,
            finished_at=_dt(entry.finished_at),
        )
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str)


def from_json(text: str) -> Entry:
    """Parse one spool line; SpoolFormatError when it is not a complete, valid entry."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpoolFormatError(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SpoolFormatError("not a JSON object")
    if data.get("v") != VERSION:
        raise SpoolFormatError(f"unknown spool format version {data.get('v')!r}")
    kind = data.get("kind")
    run_id = data.get("run_id")
    if run_id is not None and not isinstance(run_id, int):
        raise SpoolFormatError("run_id: expected an integer")
    key = data.get("source_key")
    if key is not None and not isinstance(key, str):
        raise SpoolFormatError("source_key: expected a string")
    if kind == "article":
        article = StoredArticle(
            record=record_from_json(data.get("record")),
            source_id=None,
            page=_page_from_json(data.get("page")),
            run_id=run_id,
        )
        return PendingArticle(source_key=key, article=article)
    if kind == "failure":
        f = data.get("failure")
        if not isinstance(f, dict) or not all(
            isinstance(f.get(k), str) for k in ("url", "stage", "reason")
        ):
            raise SpoolFormatError("failure: expected url, stage and reason")
        row = FailureRow(
            url=f["url"],
            stage=f["stage"],
            reason=f["reason"],
            status=f.get("status"),
            detail=f.get("detail"),
            run_id=run_id,
        )
        return PendingFailure(source_key=key, failure=row)
    if kind == "run_finish":
        if run_id is None or not isinstance(data.get("status"), str):
            raise SpoolFormatError("run_finish: expected run_id and status")
        stats = data.get("stats") or {}
        if not isinstance(stats, dict):
            raise SpoolFormatError("run_finish: stats must be an object")
        return PendingRunFinish(
            run_id=run_id,
            status=data["status"],
            stats=stats,
            error=data.get("error"),
            finished_at=_parse_dt(data.get("finished_at"), "finished_at"),
        )
    raise SpoolFormatError(f"unknown entry kind {kind!r}")
