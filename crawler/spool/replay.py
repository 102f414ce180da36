"""Replaying the spool: its files written to the database, each in one transaction.

Replaying a file takes an exclusive ``flock`` on it (several crawls may share a data
dir), writes its entries in one transaction (`storage.writes.write_entries`, the write
path `StorePipeline` uses too, which never duplicates), and only after the commit deletes
the file; a file with damaged lines (a torn last line, invalid JSON) has its good lines
replayed and is moved to ``spool/damaged/`` for inspection.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storage.writes import (
    PendingArticle,
    PendingFailure,
    PendingRunFinish,
    WriteResult,
    write_entries,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from storage.pagestore import WarcPageWriter
from crawler.spool.files import DAMAGED, _fsync_dir, _read, pending, spool_dir, write_batch
from crawler.spool.format import Entry

logger = logging.getLogger(__name__)


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


def replay(
    data_dir: Path,
    sessions: sessionmaker[Session],
    page_writer: WarcPageWriter | None = None,
) -> ReplayReport:
    """Write every pending spool file to the database, oldest first; see the module doc.
    ``page_writer``: raw pages go to its WARC files (``NEWSINGEST_PAGE_STORE=warc``).

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
            result = _write(sessions, spooled.entries, page_writer)
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


def _write(
    sessions: sessionmaker[Session], entries: Sequence[Entry], page_writer: WarcPageWriter | None
) -> WriteResult:
    return write_entries(
        sessions,
        [e for e in entries if isinstance(e, PendingArticle)],
        [e for e in entries if isinstance(e, PendingFailure)],
        [e for e in entries if isinstance(e, PendingRunFinish)],
        page_writer=page_writer,
    )
