"""The spool's files: batches written whole, read back line by line, listed.

A batch is written to ``NAME.jsonl.part`` (opened exclusively, fsynced), then renamed to
``NAME.jsonl`` and the folder fsynced: a ``.jsonl`` file is always complete. A write that
fails (disk full, file size limit) removes its ``.part`` file and raises `SpoolError`; a
``.part`` file left by a process that died mid-write is pending (replayed for its
complete lines) once its process is gone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.extraction.sanitize import clean_text, sanitize
from crawler.failures import FailureReason
from storage.failures import FailureRow
from storage.writes import (
    PendingArticle,
    PendingFailure,
    PendingRunFinish,
)

if TYPE_CHECKING:
    pass
from crawler.pids import pid_alive
from crawler.spool.format import Entry, SpoolFormatError, from_json, to_json

logger = logging.getLogger(__name__)


SUFFIX = ".jsonl"


PARTIAL = ".jsonl.part"


DAMAGED = "damaged"


_counter = itertools.count()


class SpoolError(Exception):
    """The spool could not be written (disk full, file size limit, permissions)."""


def spool_dir(data_dir: Path) -> Path:
    """Where spooled batches are written."""
    return data_dir / "spool"


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
