"""crawler.archive: WARC/ARC records read from an offset, damage found and skipped."""

from __future__ import annotations

import gzip
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from crawler.archive import (
    ArchiveRecord,
    Damage,
    location_of,
    read_archive,
)
from storage.pagestore import PageToWrite, write_warc

MAX = 1 << 20


def page(i: int) -> bytes:
    return f"<html><body><p>Seite {i} — страница {i} — 第{i}页</p></body></html>".encode()


def build(gz: bool, count: int = 5) -> tuple[bytes, list[int]]:
    """``count`` response records; their offsets."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=gz)
    offsets = []
    for i in range(count):
        offsets.append(buf.tell())
        http = StatusAndHeaders(
            "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
        )
        record = writer.create_warc_record(
            f"https://news.test/a{i}",
            "response",
            payload=io.BytesIO(page(i)),
            http_headers=http,
            warc_headers_dict={"WARC-Date": f"2024-03-0{i + 1}T10:00:00Z"},
        )
        writer.write_record(record)
    return buf.getvalue(), offsets


def read(tmp_path: Path, data: bytes, start: int = 0) -> list[ArchiveRecord | Damage]:
    path = tmp_path / "x.warc"
    path.write_bytes(data)
    return list(read_archive(str(path), start, max_body=MAX))


def urls(entries: list[ArchiveRecord | Damage]) -> list[str | None]:
    return [e.url for e in entries if isinstance(e, ArchiveRecord)]


def damage(entries: list[ArchiveRecord | Damage]) -> list[tuple[str, int]]:
    return [(e.reason, e.offset) for e in entries if isinstance(e, Damage)]


@pytest.mark.parametrize("gz", [True, False])
def test_records_with_their_offsets_dates_and_bodies(tmp_path: Path, gz: bool) -> None:
    data, offsets = build(gz)
    entries = read(tmp_path, data)
    assert damage(entries) == []
    assert [e.offset for e in entries] == offsets
    records = [e for e in entries if isinstance(e, ArchiveRecord)]
    assert [r.next_offset for r in records[:-1]] == offsets[1:]
    assert records[-1].next_offset == len(data)
    assert records[2].body == page(2)
    assert records[2].status == 200
    assert records[2].content_type == "text/html; charset=utf-8"
    assert records[2].date == datetime(2024, 3, 3, 10, tzinfo=UTC)


@pytest.mark.parametrize("gz", [True, False])
def test_reading_from_an_offset_starts_at_that_record(tmp_path: Path, gz: bool) -> None:
    data, offsets = build(gz)
    entries = read(tmp_path, data, offsets[3])
    assert urls(entries) == ["https://news.test/a3", "https://news.test/a4"]
    assert entries[0].offset == offsets[3]


def test_a_gzip_member_cut_in_the_middle_is_damage_and_reading_goes_on(tmp_path: Path) -> None:
    # Record ids are random, so the compressed bytes differ per build: about one build in
    # 130 once let the cut member's remains inflate on through the next members to the
    # file's end (reported as truncated, two records lost). 600 builds catch that.
    for _ in range(600):
        data, offsets = build(True)
        cut = data[: offsets[2] + (offsets[3] - offsets[2]) // 2] + data[offsets[3] :]
        entries = read(tmp_path, cut)
        assert damage(entries) == [("bad_record", offsets[2])]
        assert urls(entries) == [f"https://news.test/a{i}" for i in (0, 1, 3, 4)]


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize("length", ["50", "900"])
def test_a_wrong_content_length_is_damage_and_the_next_records_are_read(
    tmp_path: Path, gz: bool, length: str
) -> None:
    plain, offsets = build(False)
    start = plain.find(b"Content-Length: ", offsets[1])
    end = plain.find(b"\r\n", start)
    bad = plain[:start] + b"Content-Length: " + length.encode() + plain[end:]
    if gz:  # the same records, one gzip member each
        good, gz_offsets = build(True)
        member = gzip.decompress(good[gz_offsets[1] : gz_offsets[2]])
        s = member.find(b"Content-Length: ")
        e = member.find(b"\r\n", s)
        member = member[:s] + b"Content-Length: " + length.encode() + member[e:]
        bad = good[: gz_offsets[1]] + gzip.compress(member) + good[gz_offsets[2] :]
        offsets = gz_offsets
    entries = read(tmp_path, bad)
    assert damage(entries) == [("bad_length", offsets[1])]
    assert [e.url for e in entries if isinstance(e, Damage)] == ["https://news.test/a1"]
    assert urls(entries) == [f"https://news.test/a{i}" for i in (0, 2, 3, 4)]


@pytest.mark.parametrize("gz", [True, False])
def test_a_file_ending_inside_a_record_is_truncated(tmp_path: Path, gz: bool) -> None:
    data, offsets = build(gz)
    entries = read(tmp_path, data[: offsets[3] + 20])
    assert damage(entries) == [("truncated", offsets[3])]
    assert urls(entries) == [f"https://news.test/a{i}" for i in range(3)]


def test_garbage_between_records_is_one_damaged_stretch(tmp_path: Path) -> None:
    # Record ids are random, so the compressed bytes differ per build: about one build
    # in 25 once let warcio read the garbage as a record running to the file's end
    # (reported as truncated, three records lost). 200 builds catch that.
    for _ in range(200):
        data, offsets = build(True)
        entries = read(tmp_path, data[: offsets[2]] + b"not a record " * 20 + data[offsets[2] :])
        assert damage(entries) == [("bad_record", offsets[2])]
        assert len(urls(entries)) == 5


def test_a_body_over_the_limit_is_not_read(tmp_path: Path) -> None:
    data, _ = build(True, count=2)
    path = tmp_path / "x.warc.gz"
    path.write_bytes(data)
    entries = list(read_archive(str(path), max_body=10))
    assert [e.body for e in entries if isinstance(e, ArchiveRecord)] == [None, None]
    assert all(isinstance(e, ArchiveRecord) and e.length > 10 for e in entries)


def test_a_missing_file_is_one_unreadable_damage(tmp_path: Path) -> None:
    entries = list(read_archive(str(tmp_path / "none.warc"), max_body=MAX))
    assert [(e.reason, e.next_offset) for e in entries if isinstance(e, Damage)] == [
        ("unreadable", None)
    ]


def arc_file(pages: list[tuple[str, bytes]]) -> bytes:
    """An ARC (version 1) file of HTTP responses."""
    header_body = b"1 0 newsingest\nURL IP-address Archive-date Content-type Archive-length\n"
    out = [
        b"filedesc://test.arc 0.0.0.0 20240301000000 text/plain %d\n" % len(header_body)
        + header_body
        + b"\n"
    ]
    for url, html in pages:
        block = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            b"Content-Length: %d\r\n\r\n" % len(html) + html
        )
        out.append(
            f"{url} 127.0.0.1 20240302101500 text/html {len(block)}\n".encode() + block + b"\n"
        )
    return b"".join(out)


@pytest.mark.parametrize("gz", ["record", "file", None])
def test_arc_files_are_read_as_warc(tmp_path: Path, gz: str | None) -> None:
    pages = [("https://news.test/arc1", page(1)), ("https://news.test/arc2", page(2))]
    data = arc_file(pages)
    if gz == "file":  # one gzip stream for the whole file
        data = gzip.compress(data)
    elif gz == "record":  # one gzip member per record, as .arc.gz files are written
        data = gzip.compress(arc_file([])) + b"".join(
            gzip.compress(arc_file([p]).split(b"\n\n", 1)[1]) for p in pages
        )
    records = [e for e in read(tmp_path, data) if isinstance(e, ArchiveRecord)]
    responses = [r for r in records if r.kind == "response"]
    assert [r.url for r in responses] == ["https://news.test/arc1", "https://news.test/arc2"]
    assert responses[1].body == page(2)
    assert responses[1].date == datetime(2024, 3, 2, 10, 15, tzinfo=UTC)
    assert responses[1].content_type == "text/html; charset=utf-8"


def test_written_warc_reads_back_with_request_records(tmp_path: Path) -> None:
    fetched = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    out = io.BytesIO()
    pages = [
        PageToWrite(
            "https://news.test/a?x=1", 200, "text/html; charset=koi8-r", fetched, b"<p>\xf0</p>"
        )
    ]
    assert write_warc(out, pages, software="newsingest test") == 1
    kinds = []
    for record in ArchiveIterator(io.BytesIO(out.getvalue())):
        kinds.append(record.rec_type)
        if record.rec_type == "request":
            assert record.http_headers.protocol == "GET"
            assert record.http_headers.statusline.startswith("/a?x=1 ")
            assert record.http_headers.get_header("Host") == "news.test"
    assert kinds == ["warcinfo", "response", "request"]
    path = tmp_path / "out.warc.gz"
    path.write_bytes(out.getvalue())
    (response,) = [
        e
        for e in read_archive(str(path), max_body=MAX)
        if isinstance(e, ArchiveRecord) and e.kind == "response"
    ]
    assert response.body == b"<p>\xf0</p>"
    assert response.date == fetched
    assert response.content_type == "text/html; charset=koi8-r"
    assert response.url == "https://news.test/a?x=1"


def test_a_pages_kept_headers_are_written_with_the_length_of_its_body(tmp_path: Path) -> None:
    fetched = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
    headers = (
        ("Server", "nginx"),
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", "3"),  # as kept from an older page: replaced
        ("Last-Modified", "Mon, 03 Feb 2025 03:00:00 GMT"),
        ("Vary", "Accept-Encoding"),
        ("Vary", "Cookie"),
    )
    body = b"<html><p>x</p></html>"
    out = io.BytesIO()
    write_warc(
        out,
        [
            PageToWrite("https://news.test/a", 200, "text/html; charset=utf-8", fetched, body,
                        headers),
            PageToWrite("https://news.test/b", 200, "text/html", fetched, body, ()),
            PageToWrite("https://news.test/c", 200, "text/html", fetched, body),
        ],
        software="newsingest test",
    )  # fmt: skip
    written = [
        r.http_headers.headers
        for r in ArchiveIterator(io.BytesIO(out.getvalue()))
        if r.rec_type == "response"
    ]
    length = ("Content-Length", str(len(body)))
    assert written[0] == [*(h for h in headers if h[0] != "Content-Length"), length]
    assert written[1] == [("Content-Type", "text/html"), length]  # kept none: Content-Type
    assert written[2] == [("Content-Type", "text/html"), length]  # not known (older pages)


def test_kept_headers_leave_out_cookies_framing_and_what_is_over_the_caps() -> None:
    from crawler.spiders.news import MAX_HEADER_BYTES, MAX_HEADERS, kept_headers

    given = [
        ("Date", "Mon, 03 Feb 2025 04:05:06 GMT"),
        ("Set-Cookie", "session=secret"),
        ("set-cookie2", "x=1"),
        ("Content-Length", "100"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
        ("Connection", "keep-alive"),
        ("Keep-Alive", "timeout=5"),
        ("Content-Type", "text/html"),
        ("Link", "<https://news.test/amp>; rel=amphtml"),
    ]
    assert kept_headers(given) == (
        ("Date", "Mon, 03 Feb 2025 04:05:06 GMT"),
        ("Content-Type", "text/html"),
        ("Link", "<https://news.test/amp>; rel=amphtml"),
    )
    many = [(f"X-{i}", "v") for i in range(MAX_HEADERS + 10)]
    assert len(kept_headers(many)) == MAX_HEADERS
    big = [("X-A", "a" * (MAX_HEADER_BYTES - 100)), ("X-B", "b" * 200), ("X-C", "c")]
    assert kept_headers(big) == (big[0],)


def test_locations_are_absolute_paths_or_urls(tmp_path: Path) -> None:
    assert location_of("http://127.0.0.1:9/a.warc.gz") == "http://127.0.0.1:9/a.warc.gz"
    assert Path(location_of("x.warc")).is_absolute()


@pytest.mark.parametrize("kind", ["warc", "arc"])
def test_a_file_gzipped_whole_is_read_with_offsets_of_its_records(
    tmp_path: Path, kind: str
) -> None:
    if kind == "warc":
        plain, _ = build(False)
    else:
        plain = arc_file([(f"https://news.test/a{i}", page(i)) for i in range(5)])
    path = tmp_path / f"x.{kind}.gz"
    path.write_bytes(gzip.compress(plain))
    entries = list(read_archive(str(path), max_body=MAX))
    records = [e for e in entries if isinstance(e, ArchiveRecord) and e.kind == "response"]
    assert damage(entries) == []
    assert [r.url for r in records] == [f"https://news.test/a{i}" for i in range(5)]
    assert all(0 <= r.offset < r.next_offset <= len(plain) for r in records)
    again = list(read_archive(str(path), records[3].offset, max_body=MAX))
    assert [e.url for e in again] == ["https://news.test/a3", "https://news.test/a4"]


@pytest.mark.parametrize(
    "junk", ["\x00\u00cdn\u00c9;t\u00c6", "news.test/a1", "https://news.test/a\x071", "\ufffd"]
)
def test_a_damaged_record_whose_header_names_no_url_is_reported_without_one(
    tmp_path: Path, junk: str
) -> None:
    """Bytes taken for a record's header name anything (NUL included: about one build in
    30 of the warc ingest test, whose failure rows PostgreSQL then refused)."""
    plain, offsets = build(False)
    start = plain.find(b"Content-Length: ", offsets[1])
    end = plain.find(b"\r\n", start)
    bad = plain[:start] + b"Content-Length: 50" + plain[end:]
    bad = bad.replace(b"https://news.test/a1", junk.encode(), 1)
    entries = read(tmp_path, bad)
    assert damage(entries) == [("bad_length", offsets[1])]
    assert [e.url for e in entries if isinstance(e, Damage)] == [None]
