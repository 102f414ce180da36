"""Raw pages in WARC files (``NEWSINGEST_PAGE_STORE=warc``, issue 24): a crawl of the
fixture site on 127.0.0.1 keeps ``pages`` rows without HTML pointing at records that
warcio reads back as fetched; reextract and the WARC export read them from there."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zlib
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from warcio.archiveiterator import ArchiveIterator

from crawler.demo.server import SiteServer
from storage.models import ArticleVersion, Page
from tests.integration.conftest import Cli
from tests.integration.test_crawl import FAST, _sources
from tests.integration.test_warc import fetch, ingest, records, truncate


def crawl(cli: Cli, site: SiteServer, tmp_path: Path, *settings: str) -> Path:
    """The fixture site crawled with the WARC page store; its sources file."""
    sources = _sources(tmp_path, site)
    result = cli.run(
        "crawl", "site", "--sources", str(sources), *FAST, *settings,
        "-s", "NEWSINGEST_EXTRACT_WORKERS=1", NEWSINGEST_PAGE_STORE="warc",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return sources


def pages(sessions: sessionmaker[Session]) -> list[Page]:
    with sessions() as session:
        return list(session.execute(select(Page).order_by(Page.id)).scalars())


def page_dir(cli: Cli) -> Path:
    return cli.data_dir / "pages"


def end(row: Page) -> int:
    """The byte after the row's record."""
    assert row.warc_offset is not None and row.warc_length is not None
    return row.warc_offset + row.warc_length


def test_a_crawl_keeps_pages_as_warc_records_read_back_as_fetched(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    crawl(cli, site, tmp_path)
    rows = pages(sessions)
    assert len(rows) >= 7
    files = sorted(p.name for p in page_dir(cli).iterdir())
    assert files and all(
        re.fullmatch(r"pages-\d{8}T\d{6}Z-[A-Za-z0-9.-]+-\d+-\d{5}\.warc\.gz", f) for f in files
    ), files
    for row in rows:
        assert row.html_zlib is None
        assert row.warc_file in files and row.warc_offset is not None
        _status, _headers, body = fetch(row.final_url)
        assert row.body_sha256 == hashlib.sha256(body).hexdigest()
        with (page_dir(cli) / row.warc_file).open("rb") as fh:
            fh.seek(row.warc_offset)
            record = next(iter(ArchiveIterator(fh)))
            assert record.rec_type == "response"
            assert record.rec_headers.get_header("WARC-Target-URI") == row.final_url
            assert record.http_headers.get_statuscode() == str(row.status)
            assert record.http_headers.get_header("Content-Type") == row.content_type
            assert row.http_headers is not None  # the kept headers, in the record too
            assert record.http_headers.headers == [
                *map(tuple, row.http_headers),
                ("Content-Length", str(len(body))),
            ]
            assert record.content_stream().read() == body
            fh.seek(row.warc_offset)  # the length is the record's gzip member, whole
            member = fh.read(row.warc_length)
        one = zlib.decompressobj(wbits=31)  # exactly one gzip member
        assert one.decompress(member).startswith(b"WARC/1.1\r\n")
        assert one.eof and not one.unused_data
    for name in files:  # every file is a valid WARC on its own
        checked = subprocess.run(
            [sys.executable, "-m", "warcio.cli", "check", str(page_dir(cli) / name)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert checked.returncode == 0, checked.stdout + checked.stderr


def test_reextract_reads_the_warc_records_and_makes_no_new_version(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = crawl(cli, site, tmp_path)
    before = records(sessions)
    result = cli.run("reextract", "--workers", "1", NEWSINGEST_SOURCES=str(sources))
    assert result.returncode == 0, result.stderr
    assert f"re-extracted {len(before)} pages: 0 changed (new version), " in result.stdout
    assert f"{len(before)} unchanged content" in result.stdout
    assert records(sessions) == before
    with sessions() as session:
        assert session.execute(select(func.count()).select_from(ArticleVersion)).scalar() == 0


def test_export_from_the_warc_store_then_ingest_into_an_empty_database(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = crawl(cli, site, tmp_path)
    live = records(sessions)
    out = tmp_path / "export.warc.gz"
    result = cli.run("export", "--format", "warc", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert f"exported {len(live)} pages" in result.stderr
    with out.open("rb") as fh:  # the bodies as fetched, byte for byte
        bodies = {
            r.rec_headers.get_header("WARC-Target-URI"): r.content_stream().read()
            for r in ArchiveIterator(fh)
            if r.rec_type == "response"
        }
    assert {url: fetch(url)[2] for url in bodies} == bodies
    truncate(sessions)
    ingest(cli, str(out), "--source", "site", "--sources", str(sources))
    assert records(sessions) == live


def test_files_rotate_at_the_maximum_size(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    crawl(cli, site, tmp_path, "-s", "NEWSINGEST_PAGE_WARC_MAX_BYTES=6000")
    rows = pages(sessions)
    files = sorted(p.name for p in page_dir(cli).iterdir())
    assert 3 <= len(files) <= len(rows), (len(files), len(rows))
    assert {r.warc_file for r in rows} == set(files)
    names = [f.rsplit("-", 1)[1] for f in files]  # one process: numbered 00001, 00002, ...
    assert names == [f"{i:05d}.warc.gz" for i in range(1, len(files) + 1)]
    for name in files:
        size = (page_dir(cli) / name).stat().st_size
        last = max(end(r) for r in rows if r.warc_file == name)
        assert last == size
        # a file is closed once it reached the size: only its last record crosses it
        before_last = [r for r in rows if r.warc_file == name and end(r) < size]
        assert all(end(r) < 6000 for r in before_last)


def test_a_deleted_warc_file_is_a_reported_failure_naming_it(
    cli: Cli, site: SiteServer, tmp_path: Path, sessions: sessionmaker[Session]
) -> None:
    sources = crawl(cli, site, tmp_path, "-s", "NEWSINGEST_PAGE_WARC_MAX_BYTES=1")
    rows = pages(sessions)
    assert rows[0].warc_file is not None
    gone = page_dir(cli) / rows[0].warc_file
    others = [r for r in rows if r.warc_file != rows[0].warc_file]
    assert others
    gone.unlink()
    result = cli.run("reextract", "--workers", "1", NEWSINGEST_SOURCES=str(sources))
    assert result.returncode == 1, result.stderr
    assert (
        f"unreadable: article {rows[0].article_id} {rows[0].final_url}: {gone}: no such file"
        in result.stderr
    )
    assert f"{len(others)} unchanged content" in result.stdout
    assert "1 unreadable (kept)" in result.stdout
    assert "Traceback" not in result.stderr
    out = tmp_path / "export.warc.gz"
    exported = cli.run("export", "--format", "warc", "-o", str(out))
    assert exported.returncode == 1
    assert f"{gone}: no such file" in exported.stderr
    assert f"exported {len(others)} pages" in exported.stderr
    # the whole folder missing: one line, exit 2, before anything is read
    page_dir(cli).rename(tmp_path / "moved")
    for args in (("reextract",), ("export", "--format", "warc")):
        missing = cli.run(*args, NEWSINGEST_SOURCES=str(sources))
        assert missing.returncode == 2, missing.stderr
        assert missing.stderr.startswith(
            f"error: NEWSINGEST_PAGE_WARC_DIR {page_dir(cli)} is not a folder"
        )
        assert len(missing.stderr.strip().splitlines()) == 1, missing.stderr


def test_spooled_pages_replayed_by_the_spool_command_go_to_warc_files(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    from crawler import spool
    from storage.pages import page_html
    from tests.integration.reliability.test_spool_replay import _article

    articles = [_article(1), _article(2)]
    spool.write_batch(cli.data_dir, list(articles), "db down")
    replay = cli.run("spool", "replay", NEWSINGEST_PAGE_STORE="warc")
    assert replay.returncode == 0, replay.stdout + replay.stderr
    rows = pages(sessions)
    assert [r.final_url for r in rows] == [a.article.record.url for a in articles]
    for row, pending in zip(rows, articles, strict=True):
        assert row.html_zlib is None and row.warc_file is not None
        assert pending.article.page is not None
        with sessions() as session:
            body = page_html(session, row.article_id, page_dir(cli))
        assert body == pending.article.page.html


def test_db_move_pages_takes_the_stored_pages_out_of_the_database(
    cli: Cli, sessions: sessionmaker[Session]
) -> None:
    from storage import db
    from storage.articles import upsert_articles
    from storage.pages import page_html
    from tests.integration.reliability.test_spool_replay import _article

    articles = [_article(n) for n in range(5)]
    with db.transaction(sessions) as session:
        upsert_articles(session, [a.article for a in articles])
    assert all(r.html_zlib is not None and r.warc_file is None for r in pages(sessions))
    moved = cli.run("db", "move-pages", "--batch-size", "2")
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == f"moved 5 pages in 1 files to {page_dir(cli)}"
    rows = pages(sessions)
    assert all(r.html_zlib is None and r.warc_file is not None for r in rows)
    with sessions() as session:
        bodies = [page_html(session, r.article_id, page_dir(cli)) for r in rows]
    assert bodies == [a.article.page.html for a in articles if a.article.page is not None]
    again = cli.run("db", "move-pages")
    assert again.returncode == 0 and again.stdout.strip().startswith("moved 0 pages to")
