"""Records per second reading WARC files with warcio and with FastWARC (issue 22).

Packs the corpus pages into WARC files (HTTP response records, each with its request
record: ``--records`` responses, the corpus repeated under distinct URLs) written with
warcio, once gzip-compressed per record (as CC-NEWS is) and once plain, in a temporary
folder. Then reads every file ``--rounds`` times with each library, as an ingest reads
them: every record's type, target URI and date, the HTTP status and Content-Type of
responses, and the whole payload (the HTML). Prints records/s and MB/s of the best round
per library and file, with the load average. Nothing is fetched: the corpus is local.

    .venv/bin/pip install fastwarc   # not a dependency of newsingest
    .venv/bin/python bench/warc_read.py [--records 5000] [--rounds 3] [--corpus DIR...]
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from _common import corpus_dirs, interleave, load_average, load_corpus


def write_warc(path: Path, pages: Sequence[bytes], records: int, *, gzip: bool) -> int:
    """``records`` response records (and their request records) of ``pages`` repeated."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=gzip)
        for i in range(records):
            html = pages[i % len(pages)]
            url = f"https://news.example/article/{i}.html"
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(html)))],
                protocol="HTTP/1.1",
            )
            response = writer.create_warc_record(
                url, "response", payload=io.BytesIO(html), http_headers=http
            )
            writer.write_record(response)
            request = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                http_headers=StatusAndHeaders(
                    f"GET /article/{i}.html HTTP/1.1",
                    [("Host", "news.example")],
                    is_http_request=True,
                ),
            )
            writer.write_record(request)
    return path.stat().st_size


def read_warcio(path: Path) -> tuple[int, int]:
    """(responses, payload bytes) read with warcio."""
    from warcio.archiveiterator import ArchiveIterator

    count = size = 0
    with path.open("rb") as fh:
        for record in ArchiveIterator(fh):
            record.rec_headers.get_header("WARC-Target-URI")
            record.rec_headers.get_header("WARC-Date")
            if record.rec_type != "response" or record.http_headers is None:
                continue
            record.http_headers.get_statuscode()
            record.http_headers.get_header("Content-Type")
            size += len(record.content_stream().read())
            count += 1
    return count, size


def read_fastwarc(path: Path) -> tuple[int, int]:
    """(responses, payload bytes) read with FastWARC."""
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    count = size = 0
    with path.open("rb") as fh:
        types = WarcRecordType.response | WarcRecordType.request
        for record in ArchiveIterator(fh, record_types=types, parse_http=True):
            record.headers.get("WARC-Target-URI")
            record.headers.get("WARC-Date")
            if record.record_type != WarcRecordType.response:
                continue
            record.http_headers.status_code  # noqa: B018
            record.http_headers.get("Content-Type")
            size += len(record.reader.read())
            count += 1
    return count, size


READERS: dict[str, Callable[[Path], tuple[int, int]]] = {
    "warcio": read_warcio,
    "fastwarc": read_fastwarc,
}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=5000, help="response records per file")
    parser.add_argument("--rounds", type=int, default=3, help="reads per library and file")
    parser.add_argument("--corpus", nargs="*", help="corpus folders (default ../shared/corpus)")
    args = parser.parse_args(argv)
    pages = [p.html for p in interleave(load_corpus(corpus_dirs(args.corpus)))]
    print(f"{len(pages)} corpus pages; {args.records} response records per file")
    with tempfile.TemporaryDirectory(prefix="newsingest-warc-bench-") as tmp:
        files = {
            "gzip": Path(tmp) / "bench.warc.gz",
            "plain": Path(tmp) / "bench.warc",
        }
        for kind, path in files.items():
            size = write_warc(path, pages, args.records, gzip=kind == "gzip")
            print(f"  {kind:5} {path.name}: {size / 1e6:.1f} MB")
        print(load_average())
        for kind, path in files.items():
            for name, read in READERS.items():
                best = float("inf")
                for _ in range(args.rounds):
                    start = time.perf_counter()
                    count, size = read(path)
                    best = min(best, time.perf_counter() - start)
                assert count == args.records, (name, count)
                print(
                    f"  {kind:5} {name:8} {count / best:9.0f} records/s"
                    f" {size / best / 1e6:7.1f} MB/s of HTML  ({best:.2f} s)"
                )
        print(load_average())


if __name__ == "__main__":
    main()
