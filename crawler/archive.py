"""Reading and writing web archives (WARC, ARC) with warcio: no Scrapy, no database.

`read_archive` walks the records of one WARC or ARC file (plain or gzip-compressed,
a local path or an http(s) URL streamed) from a byte offset and yields an
`ArchiveRecord` per record, each with the offset it starts at and the offset the next
one starts at (a checkpoint), or `Damage` where the file cannot be read: a gzip member
cut short, a record whose ``Content-Length`` is wrong, bytes that are no record, a file
ending in the middle of a record. After damage in a local file it looks for the next
record (the next gzip member of a record-compressed file, the next ``WARC/`` line of a
plain one) and goes on; a stream from a URL ends there.

Writing stored pages as WARC is storage's (`storage.pagestore.write_warc`, the export;
the WARC page store); bench/README.md says why warcio.

Longer than ~350 lines on purpose: reading past damage is one loop over warcio's
records with its recovery cases.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import urllib.request
import zlib
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

logger = logging.getLogger(__name__)

GZIP_MAGIC = b"\x1f\x8b\x08"
SCAN_CHUNK = 1 << 20
NO_LENGTH = " (no Content-Length)"
URL_TIMEOUT = 60.0


class _QuietIterator(ArchiveIterator):  # type: ignore[misc]
    """warcio's iterator without its stderr warning on a wrong ``Content-Length`` (its
    ``err_count`` still counts them, which `read_archive` turns into `Damage`)."""

    INC_RECORD = ""

    def _raise_invalid_gzip_err(self) -> None:
        """Read a gzip member holding several records (a whole file gzipped at once) as
        well: valid enough to ingest, though no record in it can be sought to."""


@dataclass(frozen=True, slots=True)
class ArchiveRecord:
    """One record of an archive, with what an ingest needs of it."""

    offset: int
    """Byte offset of the record (its gzip member) in the file."""
    next_offset: int
    """Where the next record starts."""
    kind: str
    """``response``, ``revisit``, ``request``, ``warcinfo``, ``metadata``, ``resource``..."""
    url: str | None
    """``WARC-Target-URI``."""
    date: datetime | None
    """``WARC-Date`` (UTC): when the page was fetched."""
    status: int | None = None
    """HTTP status of a response."""
    content_type: str | None = None
    """HTTP ``Content-Type`` of a response."""
    headers: tuple[tuple[str, str], ...] = ()
    """HTTP headers of a response."""
    length: int = 0
    """Size of the record's block (HTTP headers and payload) as the record states it."""
    body: bytes | None = None
    """The payload (de-chunked and decoded as the HTTP headers say) of a response of at
    most ``max_body`` bytes; None for other records and larger ones."""


@dataclass(frozen=True, slots=True)
class Damage:
    """Bytes of an archive that are no readable record."""

    offset: int
    next_offset: int | None
    """Where reading goes on; None when it cannot (the rest of the file is lost)."""
    reason: str
    """``bad_record`` (not a record, or a gzip member cut short), ``bad_length`` (the
    record's ``Content-Length`` does not match it), ``truncated`` (the file ends inside
    a record), ``unreadable`` (the file could not be opened or read)."""
    detail: str
    url: str | None = None
    """The damaged record's ``WARC-Target-URI`` when it reads as a URL (`_plausible_url`);
    None when the header is junk: bytes taken for a header can name anything, NUL and
    control characters included."""


Entry = ArchiveRecord | Damage

_NOT_IN_A_URL = re.compile(r"[\x00-\x20\x7f-\x9f\ufffd]")
"""Control characters, whitespace and U+FFFD: no written URL holds them."""
_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")


def _plausible_url(url: str | None) -> str | None:
    """``url`` when it reads as a URL (a scheme, an address, no control characters)."""
    if not url or _NOT_IN_A_URL.search(url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if not _SCHEME.fullmatch(scheme) or not (parts.netloc or scheme == "dns"):
        return None
    return url


def is_url(location: str) -> bool:
    """Whether ``location`` is an http(s) URL (else a local path)."""
    return urlsplit(location).scheme.lower() in ("http", "https")


def location_of(given: str) -> str:
    """How a file is named in checkpoints: a URL as given, a path made absolute."""
    return given if is_url(given) else str(Path(given).resolve())


def size_of(location: str) -> int | None:
    """A local file's size (None for URLs)."""
    return None if is_url(location) else os.path.getsize(location)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    text = value.strip()
    try:
        if text.isdigit() and len(text) >= 14:  # ARC: 20240102030405
            return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


class _Counting(io.RawIOBase):
    """A forward-only stream (a URL's body) that skips ``start`` bytes first."""

    def __init__(self, raw: Any, start: int) -> None:
        self.raw = raw
        remaining = start
        while remaining > 0:
            chunk = raw.read(min(remaining, SCAN_CHUNK))
            if not chunk:
                break
            remaining -= len(chunk)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _open(location: str, start: int) -> tuple[BinaryIO, bool]:
    """The file positioned at ``start``, and whether it can seek. A file gzipped as a
    whole (not a member per record) is read decompressed, as a stream: its offsets are
    those of the decompressed archive."""
    if is_url(location):
        response = urllib.request.urlopen(location, timeout=URL_TIMEOUT)
        return io.BufferedReader(_Counting(response, start), SCAN_CHUNK), False
    fh = open(location, "rb")  # noqa: SIM115 (closed by read_archive)
    if _gzipped_whole(fh):
        fh.seek(0)
        stream = gzip.GzipFile(fileobj=fh, mode="rb")
        return io.BufferedReader(_Counting(stream, start), SCAN_CHUNK), False
    fh.seek(start)
    return fh, True


_RECORD_START = re.compile(rb"(?:^|\n)(?:WARC/1\.[01]\r?\n|\S+ \S+ \d{14} \S+ \d+\n)")


def _gzipped_whole(fh: BinaryIO) -> bool:
    """Whether a gzip file's first member holds more than one record (or runs past
    `SCAN_CHUNK` decompressed bytes): the file was gzipped whole."""
    fh.seek(0)
    if fh.read(2) != GZIP_MAGIC[:2]:
        return False
    fh.seek(0)
    inflater = zlib.decompressobj(wbits=31)
    data = b""
    while not inflater.eof and len(data) < SCAN_CHUNK:
        chunk = fh.read(1 << 16)
        if not chunk:
            break
        try:
            data += inflater.decompress(chunk, SCAN_CHUNK - len(data))
        except zlib.error:
            return False
    if not inflater.eof:
        return len(data) >= SCAN_CHUNK
    return len(_RECORD_START.findall(data)) > 1


def _resync(fh: BinaryIO, after: int, gzipped: bool) -> int | None:
    """The offset of the next record start after ``after`` (a gzip member header, or a
    ``WARC/`` line), or None when there is none."""
    marker = GZIP_MAGIC if gzipped else b"\nWARC/"
    shift = 0 if gzipped else 1
    position = max(0, after + 1)
    tail = b""
    while True:
        fh.seek(position)
        chunk = fh.read(SCAN_CHUNK)
        if not chunk:
            return None
        data = tail + chunk
        found = data.find(marker)
        if found >= 0:
            return position - len(tail) + found + shift
        tail = data[-(len(marker) - 1) :]
        position += len(chunk)


def read_archive(location: str, start: int = 0, *, max_body: int) -> Generator[Entry, None, None]:
    """The records of the archive at ``location`` (path or http(s) URL) from byte offset
    ``start`` (a record start, e.g. a checkpoint), each an `ArchiveRecord` or `Damage`.

    Response bodies over ``max_body`` bytes are not read (``body`` None). ARC files are
    read as WARC (warcio's ``arc2warc``). Never raises for a damaged file; a file that
    cannot be opened gives one ``unreadable`` `Damage`.
    """
    try:
        fh, seekable = _open(location, start)
    except OSError as exc:
        yield Damage(start, None, "unreadable", f"cannot open: {exc}")
        return
    try:
        yield from _read(fh, seekable, start, max_body)
    finally:
        fh.close()


def _read(fh: BinaryIO, seekable: bool, start: int, max_body: int) -> Iterator[Entry]:
    size = os.fstat(fh.fileno()).st_size if seekable else None
    head = fh.read(2) if seekable else b""
    gzipped = head == GZIP_MAGIC[:2]
    if seekable:
        fh.seek(start)
    base = start
    file_format = ""  # warc, or arc2warc: the format of the file's first record
    damage_from: int | None = None  # a damaged stretch whose end is not found yet
    while True:
        it = _QuietIterator(fh, arc2warc=True)
        # warcio's offsets: absolute in a file it can tell() in, from 0 in a stream
        rel = 0 if seekable else base
        errors = it.err_count
        position = base
        failed: BaseException | None = None
        resynced = False
        try:
            for record in it:
                offset = rel + it.offset
                url = record.rec_headers.get_header("WARC-Target-URI")
                entry = _record(record, offset, url, max_body)
                it.get_record_length()  # reads to the record's end
                next_offset = position = rel + it.offset
                short = _shortfall(record)
                fmt = str(getattr(record, "format", ""))
                file_format = file_format or fmt
                if fmt != file_format:  # bytes of a WARC file that warcio took for an ARC header
                    short = NO_LENGTH
                if damage_from is not None:
                    yield Damage(
                        damage_from,
                        offset,
                        "bad_record",
                        f"{offset - damage_from} bytes that are no readable record",
                    )
                    damage_from = None
                if (
                    short is not None
                    and size is not None
                    and next_offset >= size
                    # bytes with no Content-Length read to the end may hide whole records
                    and (short != NO_LENGTH or _resync(fh, offset, gzipped) is None)
                ):
                    yield Damage(
                        offset, None, "truncated", f"the file ends inside a record: {short}"
                    )
                    return
                if it.err_count != errors or short is not None:
                    errors = it.err_count
                    reason = "bad_record" if short == NO_LENGTH else "bad_length"
                    detail = (
                        "no WARC record (no WARC header with a Content-Length)"
                        if reason == "bad_record"
                        else f"the record's Content-Length does not match its content{short or ''}"
                    )
                    if not seekable:
                        yield Damage(offset, next_offset, reason, detail, _plausible_url(url))
                        continue
                    # the next record starts after its header: the next gzip member, or
                    # (plain) the records it swallowed or cut
                    found = _resync(fh, offset, gzipped)
                    yield Damage(offset, found, reason, detail, _plausible_url(url))
                    if found is None:
                        return
                    fh.seek(found)
                    base = found
                    resynced = True
                    break
                yield _with_next(entry, next_offset)
        except Exception as exc:  # warcio's ArchiveLoadFailed, zlib errors, bad headers...
            failed = exc
            position = rel + it.offset
        if resynced:
            continue
        if failed is None:
            end = position
            if size is not None and end < size:
                at = damage_from if damage_from is not None else end
                # warcio stopped before the end: a gzip member cut short whose remains
                # inflated to nothing it could read (random bytes that happen to inflate)
                # is damage when records start after it, the file's truncation otherwise
                found = _resync(fh, end, gzipped)
                if found is not None:
                    damage_from = at
                    fh.seek(found)
                    base = found
                    continue
                yield Damage(
                    at, None, "truncated", f"the file ends inside a record ({size - at} bytes)"
                )
            elif damage_from is not None:
                yield Damage(damage_from, None, "bad_record", "no readable record after it")
            return
        if not seekable:
            yield Damage(position, None, "bad_record", f"{type(failed).__name__}: {failed}"[:500])
            return
        if damage_from is None:
            damage_from = position
            logger.debug("damage at %d: %s", position, failed)
        found = _resync(fh, position, gzipped)
        if found is None:
            reason = "truncated" if gzipped else "bad_record"
            yield Damage(damage_from, None, reason, f"{type(failed).__name__}: {failed}"[:500])
            return
        fh.seek(found)
        base = found


def _shortfall(record: Any) -> str | None:
    """Why a record read to its end is incomplete (None when it is not): its header has no
    ``Content-Length``, or its block ended before that many bytes."""
    declared = record.rec_headers.get_header("Content-Length")
    if declared is None or not str(declared).strip().isdigit():
        return NO_LENGTH
    remaining = getattr(record.raw_stream, "limit", 0) or 0
    if remaining > 0:
        return f" ({remaining} bytes missing)"
    return None


def _with_next(entry: ArchiveRecord, next_offset: int) -> ArchiveRecord:
    return ArchiveRecord(
        offset=entry.offset,
        next_offset=next_offset,
        kind=entry.kind,
        url=entry.url,
        date=entry.date,
        status=entry.status,
        content_type=entry.content_type,
        headers=entry.headers,
        length=entry.length,
        body=entry.body,
    )


def _record(record: Any, offset: int, url: str | None, max_body: int) -> ArchiveRecord:
    kind = str(record.rec_type or "")
    date = _parse_date(record.rec_headers.get_header("WARC-Date"))
    length = int(record.length or 0)
    if kind != "response" or record.http_headers is None:
        return ArchiveRecord(offset, offset, kind, url, date, length=length)
    http = record.http_headers
    try:
        status: int | None = int(http.get_statuscode())
    except (TypeError, ValueError):
        status = None
    headers = tuple((str(k), str(v)) for k, v in http.headers)
    body = None
    if length <= max_body:
        body = record.content_stream().read()
    return ArchiveRecord(
        offset,
        offset,
        kind,
        url,
        date,
        status=status,
        content_type=http.get_header("Content-Type"),
        headers=headers,
        length=length,
        body=body,
    )
