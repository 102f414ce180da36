"""Exports of ``article_feed``: JSON lines, CSV and the plain-text article layout.

Rows are streamed from a server-side cursor (`iter_feed`), so memory stays flat however
many articles match. Serialization is shared by every format: datetimes as ISO 8601 in
UTC (``2025-02-14T07:30:00Z``) with ``published_utc_offset`` (minutes east of UTC) beside
them, ``authors``/``credits``/``tags`` as arrays (JSON-encoded in CSV cells), ``stub``
as its value or null/empty. The text layout's date is the outlet's own (`outlet_date`);
a stub ends with a ``stub: <kind>`` line. Writers return how many articles they wrote.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from sqlalchemy.orm import Session

from storage.queries import ARTICLE_FEED_COLUMNS, ArticleFilter, feed_select

logger = logging.getLogger(__name__)

FORMATS = ("jsonl", "csv", "text")

STREAM_BATCH = 1000
"""Rows fetched per round trip from the server-side cursor."""

TEXT_STUB_PREFIX = "stub: "
"""The text layout's last block for a stub: ``stub: paywall`` or ``stub: video`` (full
articles have none)."""

TEXT_FIRST_LINE_PREFIX = " "
"""The text layout's first line starts with a space, exactly as the user's sample corpus
(`` date 2025-02 <lead>``); tools that diff against that corpus rely on it."""


def iter_feed(
    session: Session, filters: ArticleFilter | None = None, *, batch_size: int = STREAM_BATCH
) -> Iterator[dict[str, Any]]:
    """``article_feed`` rows matching ``filters`` (by id) from a server-side cursor.

    ``yield_per`` makes psycopg declare a named (server-side) cursor and fetch
    ``batch_size`` rows at a time; the session's transaction stays open while iterating.
    """
    result = session.execute(
        feed_select(filters or ArticleFilter()).execution_options(
            yield_per=batch_size, stream_results=True
        )
    )
    try:
        for row in result:
            yield dict(row._mapping)
    finally:
        result.close()


def iso_utc(value: datetime) -> str:
    """``value`` as ISO 8601 in UTC with a ``Z`` suffix."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_value(value: Any) -> Any:
    """A column value as JSON: datetimes as ISO 8601 UTC, arrays as lists."""
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return value


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    """One exported article as a JSON object (every ``article_feed`` column)."""
    return {name: json_value(row[name]) for name in ARTICLE_FEED_COLUMNS}


def write_jsonl(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """One JSON object per line (UTF-8, not ASCII-escaped)."""
    count = 0
    for row in rows:
        out.write(json.dumps(json_row(row), ensure_ascii=False))
        out.write("\n")
        count += 1
    return count


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection),
also after leading tabs and carriage returns."""


def csv_value(value: Any, *, raw: bool = False) -> str:
    """A CSV cell: empty for NULL, JSON arrays for lists, ISO 8601 UTC for datetimes.

    A text cell a spreadsheet would run as a formula (`FORMULA_STARTS`) gets a leading
    ``'`` unless ``raw``.
    """
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return json.dumps(json_value(value), ensure_ascii=False)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, str) and not raw and value.startswith(FORMULA_STARTS):
        return "'" + value
    return str(value)


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, *, raw: bool = False) -> int:
    """A header row of the ``article_feed`` columns, then one row per article (RFC 4180).

    Text cells that would be formulas get a leading ``'`` unless ``raw`` (`csv_value`).
    """
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(ARTICLE_FEED_COLUMNS)
    count = 0
    for row in rows:
        writer.writerow([csv_value(row[name], raw=raw) for name in ARTICLE_FEED_COLUMNS])
        count += 1
    return count


def outlet_date(published_at: datetime, precision: str | None, utc_offset: int | None) -> str:
    """The publication date as the outlet printed it, at the precision the page stated.

    ``published_at`` is shifted by ``utc_offset`` (minutes east of UTC) to the outlet's
    wall clock, then cut to ``precision``: ``minute`` -> ``2025-02-14 07:30 +01:00``
    (``2025-02-14 06:30 UTC`` when the page stated no offset), ``day`` -> ``2025-02-14``,
    ``month`` -> ``2025-02``, ``year`` -> ``2025``; no precision counts as ``day``. A
    date-only value states no offset, so it is never shifted: it prints as stored.
    """
    if utc_offset is None:
        local = published_at.astimezone(UTC)
    else:
        local = published_at.astimezone(timezone(timedelta(minutes=utc_offset)))
    if precision == "minute":
        if utc_offset is None:
            return f"{local:%Y-%m-%d %H:%M} UTC"
        sign = "-" if utc_offset < 0 else "+"
        hours, minutes = divmod(abs(utc_offset), 60)
        return f"{local:%Y-%m-%d %H:%M} {sign}{hours:02d}:{minutes:02d}"
    if precision == "month":
        return f"{local:%Y-%m}"
    if precision == "year":
        return f"{local:%Y}"
    return f"{local:%Y-%m-%d}"


def render_text(row: dict[str, Any]) -> str:
    """One article in the plain-text layout of the user's sample corpus.

    Blocks, each followed by one blank line: `` date <date> <lead>`` (the outlet's
    publication date at the stated precision, `outlet_date`, then the lead), the byline,
    every body paragraph, the translation note and, for a stub only, ``stub: <kind>``
    (`TEXT_STUB_PREFIX`: the body is only part of the article). Empty parts are left out
    (no date: the first line holds the lead alone).
    """
    first: list[str] = []
    published = row.get("published_at")
    if published is not None:
        date = outlet_date(
            published, row.get("published_precision"), row.get("published_utc_offset")
        )
        first.append(f"date {date}")
    if row.get("lead"):
        first.append(row["lead"].strip())
    blocks = [TEXT_FIRST_LINE_PREFIX + " ".join(first)] if first else []
    if row.get("byline"):
        blocks.append(row["byline"].strip())
    blocks += [p.strip() for p in (row.get("text") or "").split("\n\n") if p.strip()]
    if row.get("translation_note"):
        blocks.append(row["translation_note"].strip())
    if row.get("stub"):
        blocks.append(TEXT_STUB_PREFIX + row["stub"])
    return "".join(block + "\n\n" for block in blocks)


def write_text(rows: Iterable[dict[str, Any]], out: TextIO) -> int:
    """Articles in the text layout, one after another."""
    count = 0
    for row in rows:
        out.write(render_text(row))
        count += 1
    return count


@contextlib.contextmanager
def replacing(target: Path) -> Iterator[TextIO]:
    """`replacing_binary` as UTF-8 text (newlines as written)."""
    with (
        replacing_binary(target) as raw,
        io.TextIOWrapper(raw, encoding="utf-8", newline="") as out,
    ):
        yield out


@contextlib.contextmanager
def replacing_binary(target: Path) -> Iterator[BinaryIO]:
    """A new file that replaces ``target`` when the block ends without an error.

    The temporary file is created exclusively under a random name beside ``target``
    (``O_CREAT | O_EXCL | O_NOFOLLOW``, `tempfile.mkstemp`): a file or symlink planted at
    a predictable ``.part`` name is never written through. The rename replaces
    ``target`` itself (a symlink there is replaced, its target left alone). On an error
    the temporary file is removed.
    """
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    partial = Path(name)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp's 0600 would hide exports from their readers
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise


def write_text_files(rows: Iterable[dict[str, Any]], directory: Path) -> int:
    """One ``<id>.txt`` per article in ``directory`` (created; existing files replaced)."""
    directory.mkdir(parents=True, exist_ok=True)
    count = 0
    for row in rows:
        with replacing(directory / f"{row['id']}.txt") as out:
            out.write(render_text(row))
        count += 1
    return count


def write_stream(
    fmt: str, rows: Iterable[dict[str, Any]], out: TextIO, *, raw: bool = False
) -> int:
    """Write ``rows`` to ``out`` in format ``fmt`` (one of `FORMATS`); ``raw``: CSV cells
    as stored (`csv_value`)."""
    if fmt == "jsonl":
        return write_jsonl(rows, out)
    if fmt == "csv":
        return write_csv(rows, out, raw=raw)
    if fmt == "text":
        return write_text(rows, out)
    raise ValueError(f"unknown export format {fmt!r}")
