"""Raw pages as rotating WARC files on disk, the ``warc`` page store.

With ``NEWSINGEST_PAGE_STORE=warc`` the raw page of a stored article is not kept in
``pages.html_zlib``: `WarcPageWriter` appends it as a WARC/1.1 ``response`` record
(`response_record`, the record `write_warc` writes for ``newsingest export --format
warc``) to a file under
``NEWSINGEST_PAGE_WARC_DIR``, and ``pages`` keeps where it is (``warc_file``, relative to
that folder, ``warc_offset``, ``warc_length``) and the SHA-256 of the body
(``body_sha256``). `read_page` reads one record back by its offset.

Files are append-only and never rewritten: each process writes its own files, named
``pages-<UTC start>-<host>-<pid>-<sequence>.warc.gz`` (created exclusively, so two
processes, on one host or several sharing the folder, never write to one file), and
starts the next one when a file reached ``NEWSINGEST_PAGE_WARC_MAX_BYTES``. Each record
is a gzip member of its own (what ``.warc.gz`` tools expect, and an offset can be read
alone). A batch's records are flushed and fsynced before the transaction that points
``pages`` rows at them commits (`storage.articles.upsert_articles` writes them first),
so a committed row never points to a record that is not on disk; a crash mid-file
leaves a readable prefix (the cut last record belongs to no committed row). A
transaction that rolls back after the write leaves an unreferenced record behind, and
a page replaced by a newer fetch stays in its file: the files hold every page written,
``pages`` points at the current one.

No database here: the callers (`storage.pages`, `storage.warc`, the CLI) pass
the folder and the locations.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

PAGE_STORES = ("database", "warc")
"""Values of ``NEWSINGEST_PAGE_STORE``: raw pages in ``pages.html_zlib`` (the default),
or in WARC files under ``NEWSINGEST_PAGE_WARC_DIR``."""

FILE_PREFIX = "pages-"
FILE_SUFFIX = ".warc.gz"


@dataclass(frozen=True, slots=True)
class PageToWrite:
    """A stored page to write as a response record (and its request record)."""

    url: str
    """The URL as fetched: ``WARC-Target-URI``."""
    status: int
    content_type: str | None
    fetched_at: datetime
    body: bytes
    headers: tuple[tuple[str, str], ...] | None = None
    """The response's headers as kept with the page (``pages.http_headers``; None: not
    known, then only ``Content-Type`` is written)."""


_REASONS = {200: "OK", 203: "Non-Authoritative Information"}


def warc_date(moment: datetime) -> str:
    """``moment`` as a WARC/1.1 date: UTC, with the fraction of a second it has."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def response_record(writer: WARCWriter, page: PageToWrite) -> Any:
    """The ``response`` record of ``page`` (status line, the page's kept headers, or only
    its ``Content-Type`` when they are not known, and the ``Content-Length`` of the body as
    kept; the ``WARC-Date`` is the fetch time, exact to the microsecond), not yet written:
    `write_warc` (an export) and `WarcPageWriter` write it."""
    if page.headers is not None:
        headers = [(k, v) for k, v in page.headers if k.lower() != "content-length"]
        if page.content_type and not any(k.lower() == "content-type" for k, _ in headers):
            headers.insert(0, ("Content-Type", page.content_type))
    else:
        headers = [("Content-Type", page.content_type)] if page.content_type else []
    headers.append(("Content-Length", str(len(page.body))))
    http = StatusAndHeaders(
        f"{page.status} {_REASONS.get(page.status, 'OK')}", headers, protocol="HTTP/1.1"
    )
    return writer.create_warc_record(
        page.url,
        "response",
        payload=io.BytesIO(page.body),
        http_headers=http,
        warc_headers_dict={"WARC-Date": warc_date(page.fetched_at)},
    )


def write_warc(out: BinaryIO, pages: Iterable[PageToWrite], *, software: str) -> int:
    """Write ``pages`` as a gzip-per-record WARC to ``out``, after a ``warcinfo`` record:
    a ``response`` record each (`response_record`: status line, kept headers,
    ``Content-Length``; the ``WARC-Date`` is the fetch time) followed by the ``request``
    record of a GET of its URL. Returns how many pages."""
    writer = WARCWriter(out, gzip=True, warc_version="WARC/1.1")
    writer.write_record(
        writer.create_warcinfo_record(
            "newsingest-export.warc.gz", {"software": software, "format": "WARC File Format 1.1"}
        )
    )
    count = 0
    for page in pages:
        response = response_record(writer, page)
        writer.write_record(response)
        date = response.rec_headers.get_header("WARC-Date")
        parts = urlsplit(page.url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = writer.create_warc_record(
            page.url,
            "request",
            payload=io.BytesIO(b""),
            http_headers=StatusAndHeaders(
                f"GET {target} HTTP/1.1",
                [("Host", parts.netloc), ("User-Agent", software)],
                is_http_request=True,
            ),
            warc_headers_dict={
                "WARC-Date": date,
                "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID"),
            },
        )
        writer.write_record(request)
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class WarcLocation:
    """Where one page's record is: ``pages.warc_file``, ``warc_offset``, ``warc_length``."""

    file: str
    """The file's name relative to the page folder."""
    offset: int
    """Byte offset of the record's gzip member."""
    length: int
    """Bytes of the gzip member."""


class PageUnreadable(Exception):
    """A stored page's WARC record cannot be read; the message names the file."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path}: {why}")
        self.path = path
        self.why = why


def body_sha256(body: bytes) -> str:
    """``pages.body_sha256``: the hex SHA-256 of a raw page as fetched."""
    return hashlib.sha256(body).hexdigest()


@cache
def _gzip() -> Callable[[bytes], bytes]:
    """One gzip member of ``data`` at the fast level (python-isal's when installed, as
    for ``pages.html_zlib``: `storage.pages.compress_html`)."""
    try:
        igzip = importlib.import_module("isal.igzip")
    except ImportError:
        return lambda data: gzip.compress(data, compresslevel=1, mtime=0)
    compress: Callable[..., bytes] = igzip.compress
    return lambda data: compress(data, compresslevel=1, mtime=0)


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]+", "-", socket.gethostname()) or "host"


class WarcPageWriter:
    """Appends raw pages to this process's rotating WARC files in ``directory``.

    Thread-safe: the crawls of one process share one writer (`page_writer`)."""

    def __init__(self, directory: Path, max_bytes: int, *, software: str = "newsingest") -> None:
        self.directory = directory
        self.max_bytes = max(1, max_bytes)
        self.software = software
        self._lock = threading.Lock()
        self._fh: BinaryIO | None = None
        self._name = ""
        self._size = 0
        self._records = 0
        self._sequence = 0
        self._started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.files: list[str] = []
        """Names of the files this writer created, oldest first."""

    def write(self, pages: Sequence[PageToWrite]) -> list[WarcLocation]:
        """Append ``pages`` (one record each, rotating files as they fill), flush and
        fsync; their locations, in order."""
        if not pages:
            return []
        out: list[WarcLocation] = []
        with self._lock:
            for page in pages:
                if self._fh is None or (self._records and self._size >= self.max_bytes):
                    self._rotate()
                assert self._fh is not None
                member = self._member(page)
                self._fh.write(member)
                out.append(WarcLocation(self._name, self._size, len(member)))
                self._size += len(member)
                self._records += 1
            assert self._fh is not None
            self._fh.flush()
            os.fsync(self._fh.fileno())
        return out

    def close(self) -> None:
        """Close the current file (the next `write` starts a new one)."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def _member(self, page: PageToWrite) -> bytes:
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=False, warc_version="WARC/1.1")
        writer.write_record(response_record(writer, page))
        return _gzip()(buffer.getvalue())

    def _rotate(self) -> None:
        self._close()
        self.directory.mkdir(parents=True, exist_ok=True)
        while True:
            self._sequence += 1
            name = (
                f"{FILE_PREFIX}{self._started}-{_host()}-{os.getpid()}-"
                f"{self._sequence:05d}{FILE_SUFFIX}"
            )
            try:
                fh = open(self.directory / name, "xb")  # noqa: SIM115 - kept open across writes
            except FileExistsError:
                continue  # another process of the same pid and second: next number
            break
        self._fh, self._name, self._size, self._records = fh, name, 0, 0
        self.files.append(name)
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=False, warc_version="WARC/1.1")
        writer.write_record(
            writer.create_warcinfo_record(
                name, {"software": self.software, "format": "WARC File Format 1.1"}
            )
        )
        info = _gzip()(buffer.getvalue())
        fh.write(info)
        self._size = len(info)
        # the new file's name is on disk before any row can point into it
        fh.flush()
        os.fsync(fh.fileno())
        _fsync_dir(self.directory)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_WRITERS: dict[tuple[int, Path], WarcPageWriter] = {}
_WRITERS_LOCK = threading.Lock()


def page_writer(directory: Path, max_bytes: int, *, software: str = "newsingest") -> WarcPageWriter:
    """This process's writer of ``directory``, shared by its crawls. Per process id: a
    forked child writes files of its own, never its parent's."""
    key = (os.getpid(), directory.resolve())
    with _WRITERS_LOCK:
        writer = _WRITERS.get(key)
        if writer is None:
            writer = _WRITERS[key] = WarcPageWriter(directory, max_bytes, software=software)
        writer.max_bytes = max(1, max_bytes)
        return writer


def read_page(
    directory: Path, file: str, offset: int, length: int, sha256: str | None = None
) -> bytes:
    """The body of the ``response`` record at ``offset`` of ``directory/file``; raises
    `PageUnreadable` naming the file when it is missing, cut short, not a record, or
    (given ``sha256``) not the page that was stored."""
    path = directory / file
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            member = fh.read(length)
    except FileNotFoundError:
        raise PageUnreadable(path, "no such file") from None
    except OSError as exc:
        raise PageUnreadable(path, exc.strerror or str(exc)) from None
    if len(member) < length:
        raise PageUnreadable(path, f"the record at offset {offset} is cut short")
    try:
        raw = gzip.decompress(member)
        record = next(iter(ArchiveIterator(io.BytesIO(raw))), None)
        if record is None or record.rec_type != "response":
            raise PageUnreadable(path, f"no response record at offset {offset}")
        body: bytes = record.raw_stream.read()
    except (OSError, EOFError, ValueError) as exc:  # BadGzipFile is an OSError
        raise PageUnreadable(path, f"no readable record at offset {offset} ({exc})") from None
    if sha256 is not None and body_sha256(body) != sha256:
        raise PageUnreadable(path, f"the record at offset {offset} is not the stored page")
    return body
