"""The spool format: lossless round trips, complete files only, damage detected not raised."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from crawler import spool
from crawler.extraction.record import ArticleRecord, TranslationNote
from storage.articles import StoredArticle
from storage.failures import FailureRow
from storage.pages import StoredPage
from storage.writes import PendingArticle, PendingFailure, PendingRunFinish

WHEN = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)


def _full_record() -> ArticleRecord:
    """A record with a non-default value in every field (fails when a field is added
    that the spool does not know how to carry)."""
    values: dict[str, Any] = {
        "url": "https://example.com/a.html",
        "text": "Körper\n\nzwei 🙂 \u2028 Absätze",
        "content_hash": "a" * 64,
        "simhash": -(2**63) + 5,
        "word_count": 3,
        "extractor_version": "9.9",
        "title": "Titel",
        "lead": "Lead",
        "authors": ("A. Person", "B. Person"),
        "byline": "Von A und B (dpa)",
        "credits": ("dpa",),
        "published_at": WHEN,
        "published_precision": "minute",
        "published_utc_offset": 60,
        "published_raw": "1. März 2026, 13:30",
        "modified_at": WHEN + timedelta(hours=2),
        "language": "de",
        "language_confidence": 0.987654321,
        "declared_language": "de",
        "translation": TranslationNote(
            note="Aus dem Russischen.",
            source_language="ru",
            original_outlet="Novaya Gazeta",
            original_published_at=datetime(2026, 2, 27, tzinfo=UTC),
        ),
        "site_name": "Beispiel",
        "section": "Politik",
        "tags": ("x", "y"),
        "image_url": "https://example.com/i.jpg",
        "fetched_at": WHEN + timedelta(minutes=1),
        "stub": "paywall",
    }
    names = {f.name for f in dataclasses.fields(ArticleRecord)}
    assert names == set(values), f"fields not covered by this test: {names ^ set(values)}"
    return ArticleRecord(**values)


def _article(run_id: int | None = 7) -> PendingArticle:
    page = StoredPage(
        requested_url="https://example.com/a",
        final_url="https://example.com/a.html",
        status=200,
        content_type="text/html; charset=iso-8859-1",
        html=b"<html>\x00\xff\xfe not utf-8 \n\r</html>",
        fetched_at=WHEN,
        headers=(("Content-Type", "text/html; charset=iso-8859-1"), ("Vary", "a"), ("Vary", "b")),
    )
    return PendingArticle(
        "src", StoredArticle(record=_full_record(), source_id=None, page=page, run_id=run_id)
    )


def _failure(url: str = "https://example.com/x") -> PendingFailure:
    return PendingFailure(
        "src",
        FailureRow(url=url, stage="fetch", reason="timeout", status=None, detail="d", run_id=7),
    )


def test_an_article_survives_the_spool_round_trip_unchanged() -> None:
    entry = _article()
    line = spool.to_json(entry, error="db down")
    assert "\n" not in line
    assert spool.from_json(line) == entry


def test_an_article_without_page_or_run_survives_the_round_trip() -> None:
    minimal = ArticleRecord(
        url="https://e.com/b", text="t", content_hash="b" * 64, simhash=1, word_count=1,
        extractor_version="1",
    )  # fmt: skip
    entry = PendingArticle(None, StoredArticle(record=minimal, source_id=None))
    assert spool.from_json(spool.to_json(entry)) == entry


def test_failures_and_run_outcomes_survive_the_round_trip() -> None:
    run = PendingRunFinish(7, "failed", {"a": 1, "b": "x"}, "boom", WHEN)
    for entry in (_failure(), run):
        assert spool.from_json(spool.to_json(entry)) == entry


@pytest.mark.parametrize(
    "line",
    [
        "",
        "{",
        "[]",
        '{"v": 2, "kind": "article"}',
        '{"v": 1, "kind": "nope"}',
        '{"v": 1, "kind": "article", "record": {"url": "x"}}',
        '{"v": 1, "kind": "failure", "failure": {"url": "x"}}',
        '{"v": 1, "kind": "run_finish", "status": "failed"}',
        '{"v": 1, "kind": "article", "run_id": "7", "record": {}}',
    ],
)
def test_invalid_lines_raise_a_format_error(line: str) -> None:
    with pytest.raises(spool.SpoolFormatError):
        spool.from_json(line)


def test_a_naive_datetime_is_refused() -> None:
    data = json.loads(spool.to_json(_article()))
    data["record"]["published_at"] = "2026-03-01T12:30:00"
    with pytest.raises(spool.SpoolFormatError):
        spool.from_json(json.dumps(data))


def test_a_line_spooled_before_records_had_a_stub_reads_as_a_full_article() -> None:
    data = json.loads(spool.to_json(_article()))
    del data["record"]["stub"]
    entry = spool.from_json(json.dumps(data))
    assert isinstance(entry, PendingArticle)
    assert entry.article.record == dataclasses.replace(_full_record(), stub=None)


@pytest.mark.parametrize("stub", ["audio", "Paywall", "", 1])
def test_a_stub_other_than_paywall_video_or_null_is_refused(stub: object) -> None:
    data = json.loads(spool.to_json(_article()))
    data["record"]["stub"] = stub
    with pytest.raises(spool.SpoolFormatError, match="stub"):
        spool.from_json(json.dumps(data))


def test_a_batch_becomes_one_complete_file_and_reads_back(tmp_path: Path) -> None:
    entries: list[spool.Entry] = [_article(), _failure(), _failure("https://example.com/y")]
    path = spool.write_batch(tmp_path, entries, "db down")
    assert path.suffix == ".jsonl"
    assert list(spool.spool_dir(tmp_path).glob("*.part")) == []
    read = spool.read_file(path)
    assert read.entries == entries
    assert not read.damaged
    assert spool.pending(tmp_path) == [path]


def test_a_failed_write_leaves_no_file_and_raises_spool_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = os.write
    calls = {"n": 0}

    def short_then_full(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[:10]))  # a short write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    with pytest.raises(spool.SpoolError, match="No space left"):
        spool.write_batch(tmp_path, [_article()], "db down")
    monkeypatch.undo()
    assert list(spool.spool_dir(tmp_path).iterdir()) == []
    assert spool.status(tmp_path).empty


def test_a_file_size_limit_gives_spool_error_not_a_signal(tmp_path: Path) -> None:
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from crawler import spool\n"
        "from tests.unit.crawler.spool.test_spool import _article\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))\n"
        "try:\n"
        "    spool.write_batch(Path(sys.argv[1]), [_article()] * 20, 'x')\n"
        "except spool.SpoolError as exc:\n"
        "    print('SpoolError', exc)\n"
    )
    root = Path(__file__).resolve().parents[4]
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "SpoolError" in out.stdout and "File too large" in out.stdout
    assert spool.status(tmp_path).empty


def test_a_torn_last_line_is_detected_and_the_rest_is_kept(tmp_path: Path) -> None:
    path = spool.write_batch(tmp_path, [_failure(), _article()], "db down")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) - 40])  # cut inside the last line
    read = spool.read_file(path)
    assert read.torn_tail
    assert read.entries == [_failure()]
    assert read.bad_lines and read.bad_lines[0][0] == 2
    found = spool.status(tmp_path)
    assert [f.torn_tail for f in found.files] == [True]


def test_a_garbage_line_in_the_middle_is_reported_not_raised(tmp_path: Path) -> None:
    path = spool.spool_dir(tmp_path) / "x-1-0.jsonl"
    path.parent.mkdir(parents=True)
    good = spool.to_json(_failure())
    path.write_text(f"{good}\nnot json\n{good}\n", encoding="utf-8")
    read = spool.read_file(path)
    assert len(read.entries) == 2
    assert [n for n, _ in read.bad_lines] == [2]
    assert not read.torn_tail


def test_partial_files_of_live_writers_are_not_pending_but_of_dead_ones_are(
    tmp_path: Path,
) -> None:
    folder = spool.spool_dir(tmp_path)
    folder.mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    mine = folder / f"20260101T000000000000-{os.getpid()}-0001.jsonl.part"
    gone = folder / f"20260101T000000000000-{dead.stdout.strip()}-0002.jsonl.part"
    mine.write_text("", encoding="utf-8")
    gone.write_text("", encoding="utf-8")
    assert spool.pending(tmp_path) == [gone]


def test_one_unencodable_record_is_isolated_and_the_rest_of_the_batch_is_spooled(
    tmp_path: Path,
) -> None:
    good = _article()
    bad_record = dataclasses.replace(_full_record(), url="https://example.com/bad.html",
                                     title="Harbour \ud800 strike")  # fmt: skip
    bad = PendingArticle("src", dataclasses.replace(good.article, record=bad_record))
    isolated: list[tuple[spool.Entry, str]] = []
    path = spool.write_batch(tmp_path, [good, bad, _failure()], "db down", isolated)
    read = spool.read_file(path)
    assert not read.damaged
    assert read.entries[0] == good
    replaced = read.entries[1]
    assert isinstance(replaced, PendingFailure)
    assert replaced.failure.url == "https://example.com/bad.html"
    assert (replaced.failure.stage, replaced.failure.reason) == ("store", "store_error")
    assert replaced.failure.run_id == 7
    assert "UnicodeEncodeError" in (replaced.failure.detail or "")
    assert read.entries[2] == _failure()
    assert [e for e, _ in isolated] == [bad]
