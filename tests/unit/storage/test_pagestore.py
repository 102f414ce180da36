"""The WARC page store's files (`storage.pagestore`): records read back by offset, a cut
last record that spoils nothing before it, rotation, and one file per process."""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from storage import pagestore
from storage.pagestore import PageToWrite, PageUnreadable, WarcPageWriter, body_sha256, read_page

FETCHED = datetime(2025, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)


def page(n: int, size: int = 3000) -> PageToWrite:
    body = (f"<html><body><p>page {n} ".encode() + os.urandom(size // 2).hex().encode())[:size]
    return PageToWrite(
        url=f"https://news.example/{n}.html",
        status=200,
        content_type="text/html; charset=utf-8",
        fetched_at=FETCHED,
        body=body,
    )


def test_records_read_back_by_offset_as_written(tmp_path: Path) -> None:
    writer = WarcPageWriter(tmp_path, 1 << 30)
    pages = [page(n) for n in range(5)]
    locations = writer.write(pages)
    writer.close()
    assert len({loc.file for loc in locations}) == 1
    for p, loc in zip(pages, locations, strict=True):
        assert read_page(tmp_path, loc.file, loc.offset, loc.length, body_sha256(p.body)) == p.body
    with (tmp_path / locations[0].file).open("rb") as fh:
        kinds = [(r.rec_type, r.rec_headers.get_header("WARC-Date")) for r in ArchiveIterator(fh)]
    assert kinds[0][0] == "warcinfo"
    assert kinds[1:] == [("response", "2025-03-04T05:06:07.891011Z")] * 5


def test_a_cut_last_record_leaves_the_records_before_it_readable(tmp_path: Path) -> None:
    writer = WarcPageWriter(tmp_path, 1 << 30)
    pages = [page(n) for n in range(3)]
    locations = writer.write(pages)
    writer.close()
    path = tmp_path / locations[0].file
    last = locations[-1]
    os.truncate(path, last.offset + last.length // 2)  # a crash in the middle of a write
    for p, loc in zip(pages[:-1], locations[:-1], strict=True):
        assert read_page(tmp_path, loc.file, loc.offset, loc.length) == p.body
    with pytest.raises(PageUnreadable, match=f"{path}: the record at offset {last.offset} is cut"):
        read_page(tmp_path, last.file, last.offset, last.length)


def test_a_missing_file_or_another_page_is_named(tmp_path: Path) -> None:
    writer = WarcPageWriter(tmp_path, 1 << 30)
    first, second = writer.write([page(1), page(2)])
    writer.close()
    with pytest.raises(PageUnreadable, match="is not the stored page"):
        read_page(tmp_path, first.file, first.offset, first.length, body_sha256(b"other"))
    with pytest.raises(PageUnreadable, match="no readable record"):
        read_page(tmp_path, first.file, first.offset + 1, first.length)
    (tmp_path / first.file).unlink()
    with pytest.raises(PageUnreadable) as raised:
        read_page(tmp_path, second.file, second.offset, second.length)
    assert str(raised.value) == f"{tmp_path / first.file}: no such file"


def test_files_rotate_once_they_reach_the_size_and_are_never_reopened(tmp_path: Path) -> None:
    writer = WarcPageWriter(tmp_path, 5000)
    locations = writer.write([page(n) for n in range(7)])
    assert len(writer.files) >= 3
    assert [loc.file for loc in locations] == sorted(loc.file for loc in locations)
    for name in writer.files[:-1]:  # closed once the size was reached, not before
        ends = sorted(loc.offset + loc.length for loc in locations if loc.file == name)
        assert ends[-1] == (tmp_path / name).stat().st_size >= 5000
        assert all(end < 5000 for end in ends[:-1])
    sizes = {name: (tmp_path / name).stat().st_size for name in writer.files}
    writer.close()
    more = writer.write([page(8)])
    writer.close()
    assert more[0].file not in sizes  # a closed file is never written again
    assert {name: (tmp_path / name).stat().st_size for name in sizes} == sizes


def _write_in_child(directory: str, queue: multiprocessing.Queue[str]) -> None:
    writer = pagestore.page_writer(Path(directory), 1 << 30)
    queue.put(writer.write([page(99)])[0].file)
    writer.close()


def test_each_process_writes_files_of_its_own(tmp_path: Path) -> None:
    parent = pagestore.page_writer(tmp_path, 1 << 30)
    mine = parent.write([page(1)])[0].file
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    child = context.Process(target=_write_in_child, args=(str(tmp_path), queue))
    child.start()
    theirs = queue.get(timeout=60)
    child.join(60)
    also_mine = parent.write([page(2)])[0].file
    parent.close()
    assert theirs != mine and also_mine == mine
    assert f"-{os.getpid()}-" in mine and f"-{child.pid}-" in theirs
