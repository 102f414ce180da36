"""The local spool: what the database could not take, kept on disk until it can.

When a batch cannot be written because the database is unreachable, `StorePipeline`
writes it here, under ``<data_dir>/spool/``, and the spool is written to the database
later: by the running crawl at its next successful flush and when it closes, by the next
crawl, or by ``newsingest spool replay``.

Format (version 1): one file per spooled batch, UTF-8 JSON lines, one entry a line::

    {"v": 1, "kind": "article", "source_key": ..., "run_id": ..., "error": ...,
     "record": {ArticleRecord fields}, "page": {..., "html": base64} | null}
    {"v": 1, "kind": "failure", "source_key": ..., "run_id": ..., "error": ...,
     "failure": {"url", "stage", "reason", "status", "detail"}}
    {"v": 1, "kind": "run_finish", "run_id": ..., "status": ..., "stats": {...}, ...}

A batch is written to ``NAME.jsonl.part`` (opened exclusively, fsynced), then renamed to
``NAME.jsonl`` and the folder fsynced: a ``.jsonl`` file is always complete. A write that
fails (disk full, file size limit) removes its ``.part`` file and raises `SpoolError`; a
``.part`` file left by a process that died mid-write is replayed for its complete lines.
Replaying a file takes an exclusive ``flock`` on it (several crawls may share a data
dir), writes its entries in one transaction (`storage.spool_replay.write_entries`, which
never duplicates), and only after the commit deletes the file; a file with damaged lines
(a torn last line, invalid JSON) has its good lines replayed and is moved to
``spool/damaged/`` for inspection.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import errno
import fcntl
import itertools
import json
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from crawler.extraction.record import ArticleRecord, StubKind, TranslationNote
from crawler.extraction.sanitize import clean_text, sanitize
from crawler.failures import FailureReason
from storage.repository import FailureRow, StoredArticle, StoredPage
from storage.spool_replay import (
    PendingArticle,
    PendingFailure,
    PendingRunFinish,
    WriteResult,
    write_entries,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

VERSION = 1
SUFFIX = ".jsonl"
PARTIAL = ".jsonl.part"
DAMAGED = "damaged"

Entry = PendingArticle | PendingFailure | PendingRunFinish
"""One line of the spool."""

_counter = itertools.count()
_DATETIME_FIELDS = frozenset({"published_at", "modified_at", "fetched_at"})
_TUPLE_FIELDS = frozenset({"authors", "credits", "tags"})
_STUB_KINDS = frozenset(get_args(StubKind))


class SpoolError(Exception):
    """The spool could not be written (disk full, file size limit, permissions)."""


class SpoolFormatError(ValueError):
    """A spool line that is not a complete, valid entry."""


def spool_dir(data_dir: Path) -> Path:
    """Where spooled batches are written."""
    return data_dir / "spool"


# --- the format -----------------------------------------------------------------------
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
    }


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


# --- writing --------------------------------------------------------------------------
def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _line(entry: Entry, error: str) -> bytes:
    return (to_json(entry, error=error) + "\n").encode("utf-8")


def _as_failure(entry: PendingArticle, why: str) -> PendingFailure:
    """The failure row that stands for an article the spool cannot hold."""
    art = entry.article
    return PendingFailure(
        source_key=entry.source_key,
        failure=FailureRow(
            url=clean_text(art.record.url),
            stage="store",
            reason=FailureReason.STORE_ERROR,
            status=art.page.status if art.page else None,
            detail=clean_text(f"the record cannot be stored: {why}")[:1000],
            run_id=art.run_id,
        ),
    )


def encode_entries(
    entries: Sequence[Entry], error: str = "", isolated: list[tuple[Entry, str]] | None = None
) -> bytes:
    """The spool lines of ``entries``, one entry at a time.

    One bad entry never costs the others: an article whose record cannot be encoded
    (a lone surrogate, a value JSON cannot hold) is replaced by a ``store`` failure
    (`FailureReason.STORE_ERROR`, with the reason) for its URL; a failure or run outcome gets its
    strings cleaned. Each entry replaced is appended to ``isolated`` with the reason.
    """
    out: list[bytes] = []
    for entry in entries:
        try:
            out.append(_line(entry, error))
            continue
        except (ValueError, TypeError, RecursionError) as exc:  # UnicodeEncodeError included
            why = f"{type(exc).__name__}: {exc}"
        logger.error("spool: isolating an entry that cannot be encoded (%s)", why)
        if isolated is not None:
            isolated.append((entry, why))
        if isinstance(entry, PendingArticle):
            replacement: Entry = _as_failure(entry, why)
        elif isinstance(entry, PendingFailure):
            replacement = PendingFailure(
                clean_text(entry.source_key) if entry.source_key else None,
                sanitize(entry.failure),
            )
        else:
            replacement = dataclasses.replace(
                entry,
                stats=json.loads(
                    clean_text(json.dumps(entry.stats, default=str, ensure_ascii=False))
                ),
                error=clean_text(entry.error) if entry.error else entry.error,
            )
        out.append(_line(replacement, clean_text(error)))
    return b"".join(out)


def write_batch(
    data_dir: Path,
    entries: Sequence[Entry],
    error: str,
    isolated: list[tuple[Entry, str]] | None = None,
) -> Path:
    """Write ``entries`` as one complete spool file (fsynced); return its path.

    An entry that cannot be encoded is isolated (`encode_entries`): the rest is written.
    Raises `SpoolError` when the file cannot be written completely; then no spool file
    is left behind (the partial file is removed).
    """
    folder = spool_dir(data_dir)
    lines = encode_entries(entries, error, isolated)
    name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.getpid()}-{next(_counter):04d}"
    final = folder / (name + SUFFIX)
    part = folder / (name + PARTIAL)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise SpoolError(f"cannot create a spool file in {folder}: {exc}") from exc
    try:
        view = memoryview(lines)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except OSError as exc:
        os.close(fd)
        with contextlib.suppress(OSError):
            part.unlink()
        raise SpoolError(f"cannot write the spool file {final}: {exc}") from exc
    os.close(fd)
    try:
        part.rename(final)
        _fsync_dir(folder)
    except OSError as exc:
        raise SpoolError(f"cannot complete the spool file {final}: {exc}") from exc
    return final


# --- reading --------------------------------------------------------------------------
@dataclass(slots=True)
class SpoolFile:
    """One spool file as read: its valid entries and what was wrong with the rest."""

    path: Path
    entries: list[Entry] = field(default_factory=list)
    bad_lines: list[tuple[int, str]] = field(default_factory=list)
    """(line number, why) of lines that are not valid entries."""
    torn_tail: bool = False
    """The last line has no newline: a write was cut off (crash, disk full)."""

    @property
    def damaged(self) -> bool:
        """True when some line could not be read."""
        return bool(self.bad_lines) or self.torn_tail

    def counts(self) -> dict[str, int]:
        """Entries by kind."""
        out = {"article": 0, "failure": 0, "run_finish": 0}
        for e in self.entries:
            kind = (
                "article"
                if isinstance(e, PendingArticle)
                else "failure"
                if isinstance(e, PendingFailure)
                else "run_finish"
            )
            out[kind] += 1
        return out


def read_file(path: Path) -> SpoolFile:
    """Read a spool file; damaged lines are reported, never raised."""
    with path.open("rb") as fh:
        return _read(path, fh.read())


def _read(path: Path, raw: bytes) -> SpoolFile:
    result = SpoolFile(path)
    if raw and not raw.endswith(b"\n"):
        result.torn_tail = True
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if result.torn_tail and number == len(lines):
            result.bad_lines.append((number, "incomplete last line (torn write)"))
            continue
        try:
            result.entries.append(from_json(line.decode("utf-8")))
        except UnicodeDecodeError as exc:
            result.bad_lines.append((number, f"not UTF-8: {exc}"))
        except SpoolFormatError as exc:
            result.bad_lines.append((number, str(exc)))
    return result


def _pid_of(path: Path) -> int | None:
    parts = path.name.split("-")
    return int(parts[1]) if len(parts) >= 3 and parts[1].isdigit() else None


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pending(data_dir: Path) -> list[Path]:
    """Spool files waiting to be replayed, oldest first.

    Complete ``.jsonl`` files, and ``.part`` files whose writer process is gone.
    """
    folder = spool_dir(data_dir)
    if not folder.is_dir():
        return []
    found = list(folder.glob("*" + SUFFIX))
    for part in folder.glob("*" + PARTIAL):
        pid = _pid_of(part)
        if pid is None or (pid != os.getpid() and not pid_alive(pid)):
            found.append(part)
    return sorted(found, key=lambda p: p.name)


def damaged(data_dir: Path) -> list[Path]:
    """Files moved aside because some of their lines could not be read."""
    folder = spool_dir(data_dir) / DAMAGED
    return sorted(folder.iterdir()) if folder.is_dir() else []


@dataclass(slots=True)
class SpoolStatus:
    """What `status` found in a spool folder."""

    files: list[SpoolFile] = field(default_factory=list)
    damaged_files: list[Path] = field(default_factory=list)
    """Files already moved to ``spool/damaged/`` by an earlier replay."""

    def total(self, kind: str) -> int:
        """Pending entries of ``kind`` over all files."""
        return sum(f.counts()[kind] for f in self.files)

    @property
    def empty(self) -> bool:
        """Nothing pending and nothing damaged."""
        return not self.files and not self.damaged_files


def status(data_dir: Path) -> SpoolStatus:
    """The pending files with their entries and damage, and the files set aside."""
    out = SpoolStatus(damaged_files=damaged(data_dir))
    for path in pending(data_dir):
        try:
            out.files.append(read_file(path))
        except FileNotFoundError:  # replayed meanwhile
            continue
    return out


# --- replaying ------------------------------------------------------------------------
@dataclass(slots=True)
class ReplayReport:
    """What one `replay` call wrote."""

    files: int = 0
    articles: int = 0
    failures: int = 0
    runs_finished: int = 0
    rejected: int = 0
    busy: int = 0
    """Files skipped because another process is replaying them."""
    kept: int = 0
    """Entries left in the spool: their source is not registered in the database yet."""
    damaged: list[Path] = field(default_factory=list)
    """Files with unreadable lines, moved to ``spool/damaged/`` after their good lines."""
    by_run: dict[int | None, tuple[int, int]] = field(default_factory=dict)
    """run id -> (articles, failures) replayed, for the crawl's own stats."""


@contextlib.contextmanager
def _claimed(path: Path) -> Iterator[int | None]:
    """An exclusive lock on ``path`` if it is still there and nobody holds it, else None."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                yield None
                return
            raise
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        yield fd if same else None
    finally:
        os.close(fd)


def replay(data_dir: Path, sessions: sessionmaker[Session]) -> ReplayReport:
    """Write every pending spool file to the database, oldest first; see the module doc.

    Raises the database error when the database is unreachable; files replayed before
    that are gone, the rest stay pending.
    """
    report = ReplayReport()
    for path in pending(data_dir):
        with _claimed(path) as fd:
            if fd is None:
                report.busy += 1
                continue
            with os.fdopen(os.dup(fd), "rb") as fh:
                spooled = _read(path, fh.read())
            result = _write(sessions, spooled.entries)
            # committed: only now may the file go
            kept = result.unresolved
            if kept and len(kept) == len(spooled.entries) and not spooled.damaged:
                report.kept += len(kept)  # nothing else in it: the file stays as it is
                continue
            if kept:
                keys = sorted({e.source_key or "" for e in kept})
                write_batch(
                    data_dir,
                    kept,
                    f"source {', '.join(keys)} is not registered in the database; kept "
                    "until a crawl of it registers it",
                )
                report.kept += len(kept)
            if spooled.damaged:
                target = spool_dir(data_dir) / DAMAGED / path.name.removesuffix(".part")
                target.parent.mkdir(parents=True, exist_ok=True)
                path.rename(target)
                report.damaged.append(target)
                logger.error(
                    "spool file %s has %d unreadable line(s) (%s); its good lines were "
                    "replayed and it was moved to %s",
                    path.name,
                    len(spooled.bad_lines),
                    "; ".join(f"line {n}: {why}" for n, why in spooled.bad_lines[:3]),
                    target,
                )
            else:
                path.unlink()
            _fsync_dir(path.parent)
        report.files += 1
        report.articles += result.upsert.inserted + result.upsert.updated
        report.articles += result.upsert.unchanged + result.upsert.merged
        report.failures += result.failures + result.duplicate_failures
        report.runs_finished += result.runs_finished
        report.rejected += result.rejected
        for entry in spooled.entries:
            if any(entry is k for k in kept):
                continue
            if isinstance(entry, PendingArticle):
                arts, fails = report.by_run.get(entry.article.run_id, (0, 0))
                report.by_run[entry.article.run_id] = (arts + 1, fails)
            elif isinstance(entry, PendingFailure):
                arts, fails = report.by_run.get(entry.failure.run_id, (0, 0))
                report.by_run[entry.failure.run_id] = (arts, fails + 1)
        logger.info("replayed spool file %s (%s)", path.name, spooled.counts())
    return report


def _write(sessions: sessionmaker[Session], entries: Sequence[Entry]) -> WriteResult:
    return write_entries(
        sessions,
        [e for e in entries if isinstance(e, PendingArticle)],
        [e for e in entries if isinstance(e, PendingFailure)],
        [e for e in entries if isinstance(e, PendingRunFinish)],
    )


def write_run_finish(
    data_dir: Path,
    run_id: int,
    status: str,
    stats: dict[str, Any],
    error: str | None,
    finished_at: datetime | None = None,
) -> Path:
    """Spool the outcome of a run the ledger could not record (database down at close)."""
    entry = PendingRunFinish(
        run_id=run_id,
        status=status,
        stats=stats,
        error=error,
        finished_at=finished_at or datetime.now(UTC),
    )
    return write_batch(data_dir, [entry], error="database unreachable when the run closed")
